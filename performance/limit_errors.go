package performance

import (
	"errors"
	"fmt"
	"time"
)

// ErrBulkheadFull is returned by a [Bulkhead] that refuses a call: every
// slot is busy and the wait queue is full (or waiting is off, or the wait
// lasted longer than [MaxWait]). It reports itself retryable, so
// recovery.Retry tries again after its backoff.
var ErrBulkheadFull error = &limitError{msg: "performance: bulkhead full"}

// ErrRateLimited is matched (errors.Is) by every *[RateLimitedError].
var ErrRateLimited = errors.New("performance: rate limited")

type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// Retryable reports true: the limit frees up with time.
func (e *limitError) Retryable() bool { return true }

// RateLimitedError is returned by a [RateLimit] that refuses a call. It
// matches [ErrRateLimited], reports itself retryable, and carries in
// RetryAfter how long until a token is available, which recovery.Retry
// honours as the next delay.
type RateLimitedError struct {
	// Delay is how long until the limiter would have let the call through.
	Delay time.Duration
}

func (e *RateLimitedError) Error() string {
	if e.Delay <= 0 {
		return "performance: rate limited"
	}
	return fmt.Sprintf("performance: rate limited; retry after %s", e.Delay)
}

// Is matches ErrRateLimited.
func (e *RateLimitedError) Is(target error) bool { return target == ErrRateLimited }

// Retryable reports true.
func (e *RateLimitedError) Retryable() bool { return true }

// RetryAfter returns Delay.
func (e *RateLimitedError) RetryAfter() time.Duration { return e.Delay }
