package observability

import "context"

// Correlated is what a context may carry to give spans and log records a
// correlation id. The root package's *WorkflowContext implements it.
type Correlated interface {
	CorrelationID() string
	WorkflowID() string
}

type correlatedKey struct{}

// ContextWithCorrelated returns a copy of ctx that carries c. The root
// package's WithWorkflow is the usual way to call it.
func ContextWithCorrelated(ctx context.Context, c Correlated) context.Context {
	return context.WithValue(ctx, correlatedKey{}, c)
}

// CorrelatedFrom returns the value stored by ContextWithCorrelated, or nil.
func CorrelatedFrom(ctx context.Context) Correlated {
	c, _ := ctx.Value(correlatedKey{}).(Correlated)
	return c
}

// CorrelationID returns the correlation id carried by ctx, or "" when ctx
// carries none.
func CorrelationID(ctx context.Context) string {
	if c := CorrelatedFrom(ctx); c != nil {
		return c.CorrelationID()
	}
	return ""
}
