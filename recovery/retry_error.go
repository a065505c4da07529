package recovery

import (
	"errors"
	"fmt"
)

// ErrRetriesExhausted is matched (errors.Is) by the *RetryError that Retry
// returns when it gave up on an error it would have retried: the attempts,
// the time budget or the backoff ran out. It is not matched when the
// caller's context stopped the retries.
var ErrRetriesExhausted = errors.New("retries exhausted")

// StopReason says why Retry stopped retrying.
type StopReason uint8

const (
	// StopMaxRetries: every allowed attempt failed.
	StopMaxRetries StopReason = iota + 1
	// StopMaxElapsed: the next wait would end after MaxElapsed.
	StopMaxElapsed
	// StopBackOff: a custom backoff.BackOff returned backoff.Stop.
	StopBackOff
	// StopCanceled: the caller's context was done during a wait.
	StopCanceled
)

// String describes the reason in words.
func (r StopReason) String() string {
	switch r {
	case StopMaxRetries:
		return "max retries reached"
	case StopMaxElapsed:
		return "max elapsed time reached"
	case StopBackOff:
		return "backoff stopped"
	case StopCanceled:
		return "context done while waiting"
	}
	return fmt.Sprintf("StopReason(%d)", uint8(r))
}

// RetryError is returned by Retry when it stopped retrying an error it
// would otherwise have retried. It carries the number of attempts made,
// why it stopped, and the last attempt's error, which errors.Is and
// errors.As reach. When the caller's context ended a wait (Reason
// StopCanceled), Cause holds the context's cause and errors.Is matches it
// too (context.Canceled or context.DeadlineExceeded).
//
// A RetryError is not retryable ([IsRetryable] reports false): the retry
// budget is spent, and an outer Retry would multiply the attempts.
type RetryError struct {
	// Attempts is the number of attempts made (the first one included).
	Attempts int
	// Reason says why retrying stopped.
	Reason StopReason
	// Err is the last attempt's error.
	Err error
	// Cause is the caller's context cause when Reason is StopCanceled.
	Cause error
}

// Error gives the attempt count, the reason and the last error.
func (e *RetryError) Error() string {
	if e.Reason == StopCanceled {
		return fmt.Sprintf("retry: stopped after %d attempts (%v): last error: %v", e.Attempts, e.Cause, e.Err)
	}
	return fmt.Sprintf("retry: gave up after %d attempts (%s): %v", e.Attempts, e.Reason, e.Err)
}

// Unwrap returns the last attempt's error and, when the context stopped
// the retries, its cause.
func (e *RetryError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// Is matches [ErrRetriesExhausted] unless the context stopped the retries.
func (e *RetryError) Is(target error) bool {
	return target == ErrRetriesExhausted && e.Reason != StopCanceled
}

// Retryable reports false.
func (e *RetryError) Retryable() bool { return false }
