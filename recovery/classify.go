package recovery

import (
	"context"
	"errors"
	"time"
)

// Retryable is implemented by errors that know whether trying again could
// succeed: a rate limit or an HTTP 503 says true, a bad API key says false.
// Retry's default policy asks it (through errors.As, so wrapping is fine).
type Retryable interface {
	error
	Retryable() bool
}

// RetryAfterHinter is implemented by errors that know how long to wait
// before the next attempt (an HTTP Retry-After header). A positive hint
// replaces the computed backoff delay, capped by the maximum delay.
type RetryAfterHinter interface {
	error
	RetryAfter() time.Duration
}

// IsRetryable reports how the default retry policy classifies err, asking
// in this order:
//   - nil: not retryable;
//   - an error in the chain implementing [Retryable] (found with
//     errors.As, so the outermost one decides): what it says. The
//     [Permanent] and [Transient] marks, *InvalidInputError,
//     *TimeoutError and a recovered panic (*primitives.PanicError)
//     implement it;
//   - context.Canceled: not retryable (someone chose to stop the work);
//   - anything else, context.DeadlineExceeded included: retryable. A
//     deadline the failed step set itself (an http.Client timeout, a
//     per-call deadline) is the most common transient failure of a
//     remote call.
//
// IsRetryable looks at the error only. Whether the CALLER gave up is
// decided from the caller's context, not from the error's shape: Retry and
// the other combinators of the module never retry once their own context
// is done, whatever the error says, and whatever cause the context was
// cancelled with.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if r, ok := errors.AsType[Retryable](err); ok {
		return r.Retryable()
	}
	return !errors.Is(err, context.Canceled)
}

// RetryAfter returns the retry-after hint carried by err, or 0.
func RetryAfter(err error) time.Duration {
	if h, ok := errors.AsType[RetryAfterHinter](err); ok {
		if d := h.RetryAfter(); d > 0 {
			return d
		}
	}
	return 0
}

// Permanent marks err as not worth retrying. errors.Is and errors.As see
// through the mark. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, retryable: false}
}

// Transient marks err as worth retrying, optionally after a delay (0 means
// "use the backoff"). errors.Is and errors.As see through the mark.
// Transient(nil, d) is nil.
func Transient(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, retryable: true, after: after}
}

type markedError struct {
	err       error
	retryable bool
	after     time.Duration
}

func (e *markedError) Error() string             { return e.err.Error() }
func (e *markedError) Unwrap() error             { return e.err }
func (e *markedError) Retryable() bool           { return e.retryable }
func (e *markedError) RetryAfter() time.Duration { return e.after }

// InvalidInputError reports input that can never succeed (empty code, a
// negative timeout). Retrying it is pointless, so the default policy does
// not.
type InvalidInputError struct {
	Field  string
	Reason string
}

// Error names the field (when set) and the reason.
func (e *InvalidInputError) Error() string {
	if e.Field == "" {
		return "invalid input: " + e.Reason
	}
	return "invalid input: " + e.Field + ": " + e.Reason
}

// Retryable reports false.
func (e *InvalidInputError) Retryable() bool { return false }
