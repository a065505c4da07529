package recovery

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrTimeout is matched (errors.Is) by every timeout error of this module:
// the Timeout primitive's, the sandboxes' and the E2B client's execution
// timeouts. Such errors also match context.DeadlineExceeded.
var ErrTimeout = errors.New("timeout")

// TimeoutError reports work stopped because it ran past its time limit.
// errors.Is matches it against both [ErrTimeout] and
// context.DeadlineExceeded. Whether Retry tries again is said by
// Transient: the Timeout primitive sets it (a per-attempt deadline is the
// classic Retry(Timeout(p)) pattern), code execution does not (user code
// that loops forever would loop forever again).
type TimeoutError struct {
	// Op names what timed out, e.g. "timeout" or "code execution".
	Op string
	// After is the limit that was exceeded.
	After time.Duration
	// Err is the underlying error, if any.
	Err error
	// Transient reports whether a new attempt could succeed.
	Transient bool
}

// Error names what timed out, the limit and, when it says more than the
// deadline, the underlying error.
func (e *TimeoutError) Error() string {
	op := e.Op
	if op == "" {
		op = "operation"
	}
	if e.Err != nil && !errors.Is(e.Err, context.DeadlineExceeded) {
		return fmt.Sprintf("%s timed out after %s: %v", op, e.After, e.Err)
	}
	return fmt.Sprintf("%s timed out after %s", op, e.After)
}

// Is matches ErrTimeout and context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// Unwrap returns the underlying error.
func (e *TimeoutError) Unwrap() error { return e.Err }

// Retryable reports e.Transient.
func (e *TimeoutError) Retryable() bool { return e.Transient }
