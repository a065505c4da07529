package recovery

import "context"

// doneCause returns nil while ctx is live, and the reason it is done
// (context.Cause, which is ctx.Err() when no cause was set) once it is.
// Every primitive of the package calls it before calling anything, so a
// context that is already done is honoured before any work starts.
func doneCause(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	return context.Cause(ctx)
}
