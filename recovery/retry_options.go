package recovery

import (
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/ttadev/primitives/observability"
)

// Defaults of [Retry].
const (
	// DefaultMaxRetries is the number of retries after the first attempt:
	// up to 4 attempts in all.
	DefaultMaxRetries = 3
	// DefaultInitialDelay is the wait before the first retry.
	DefaultInitialDelay = 100 * time.Millisecond
	// DefaultMaxDelay caps every wait, including one asked for by a
	// Retry-After hint.
	DefaultMaxDelay = 60 * time.Second
	// DefaultMultiplier is the growth factor of the exponential strategy.
	DefaultMultiplier = 2.0
	// DefaultJitter is the randomization factor of the exponential
	// strategy: each wait is drawn from [d×0.5, d×1.5].
	DefaultJitter = 0.5
)

type strategyKind uint8

const (
	strategyExponential strategyKind = iota
	strategyConstant
	strategyLinear
)

type retryConfig struct {
	maxRetries int
	strategy   strategyKind
	initial    time.Duration
	maxDelay   time.Duration
	maxElapsed time.Duration
	multiplier float64
	jitter     float64
	jitterSet  bool
	custom     func() backoff.BackOff
	retryIf    func(error) bool
	onRetry    func(RetryEvent)
	telemetry  observability.Providers
	clock      Clock
}

func newRetryConfig(opts []RetryOption) retryConfig {
	c := retryConfig{
		maxRetries: DefaultMaxRetries,
		initial:    DefaultInitialDelay,
		maxDelay:   DefaultMaxDelay,
		multiplier: DefaultMultiplier,
		retryIf:    IsRetryable,
		clock:      SystemClock,
	}
	applyOptions("Retry", opts, &c.telemetry, func(o RetryOption) bool {
		switch o := o.(type) {
		case retryOptionFunc:
			o(&c)
		case ClockOption:
			c.clock = o.clock
		default:
			return false
		}
		return true
	})
	if !c.jitterSet && c.strategy == strategyExponential {
		c.jitter = DefaultJitter
	}
	if c.initial > c.maxDelay {
		panic(fmt.Sprintf("recovery: Retry: initial delay %s exceeds maximum delay %s", c.initial, c.maxDelay))
	}
	return c
}

// MaxRetries sets how many times a failed attempt is retried: n=3 means up
// to 4 attempts. With n=0 there is one attempt, and a failure the
// predicate would retry comes back as a *RetryError. A negative n panics.
func MaxRetries(n int) RetryOption {
	if n < 0 {
		panic(fmt.Sprintf("recovery: MaxRetries: retries must be >= 0, got %d", n))
	}
	return retryOptionFunc(func(c *retryConfig) { c.maxRetries = n })
}

// Exponential selects the exponential strategy (the default): the k-th
// retry waits InitialDelay × Multiplier^(k-1), capped by MaxDelay, with
// jitter (factor 0.5) unless [NoJitter] or [Jitter] says otherwise: the
// formula of backoff.ExponentialBackOff, computed in place so that a retry
// allocates nothing.
func Exponential() RetryOption {
	return retryOptionFunc(func(c *retryConfig) { c.strategy = strategyExponential; c.custom = nil })
}

// Constant selects the constant strategy: every retry waits InitialDelay
// (no jitter unless [Jitter] is given).
func Constant() RetryOption {
	return retryOptionFunc(func(c *retryConfig) { c.strategy = strategyConstant; c.custom = nil })
}

// Linear selects the linear strategy: the k-th retry waits
// k × InitialDelay, capped by MaxDelay (no jitter unless [Jitter] is
// given).
func Linear() RetryOption {
	return retryOptionFunc(func(c *retryConfig) { c.strategy = strategyLinear; c.custom = nil })
}

// WithBackOff computes the waits with a backoff.BackOff of your own, made
// afresh by newBackOff for every Execute that needs to retry (only after a
// first failure). Returning backoff.Stop ends the retries with
// [StopBackOff]. MaxDelay still caps each wait; jitter options are ignored.
// A nil function panics.
func WithBackOff(newBackOff func() backoff.BackOff) RetryOption {
	if newBackOff == nil {
		panic("recovery: WithBackOff: function is nil")
	}
	return retryOptionFunc(func(c *retryConfig) { c.custom = newBackOff })
}

// InitialDelay sets the first wait (default 100 ms). Zero retries at once;
// a negative d panics.
func InitialDelay(d time.Duration) RetryOption {
	if d < 0 {
		panic(fmt.Sprintf("recovery: InitialDelay: delay must be >= 0, got %s", d))
	}
	return retryOptionFunc(func(c *retryConfig) { c.initial = d })
}

// MaxDelay caps every wait, including one asked for by a Retry-After hint
// (default 60 s). A d <= 0 panics.
func MaxDelay(d time.Duration) RetryOption {
	if d <= 0 {
		panic(fmt.Sprintf("recovery: MaxDelay: delay must be > 0, got %s", d))
	}
	return retryOptionFunc(func(c *retryConfig) { c.maxDelay = d })
}

// MaxElapsed bounds the total time spent: a retry whose wait would end
// after d (counted from the start of the first attempt) is not made, and
// Retry returns a *RetryError with [StopMaxElapsed]. It does not cut an
// attempt short; wrap the attempt in [Timeout] for that. A d <= 0 panics.
func MaxElapsed(d time.Duration) RetryOption {
	if d <= 0 {
		panic(fmt.Sprintf("recovery: MaxElapsed: duration must be > 0, got %s", d))
	}
	return retryOptionFunc(func(c *retryConfig) { c.maxElapsed = d })
}

// Multiplier sets the growth factor of the exponential strategy (default
// 2). A factor < 1 panics.
func Multiplier(f float64) RetryOption {
	if !(f >= 1) {
		panic(fmt.Sprintf("recovery: Multiplier: factor must be >= 1, got %v", f))
	}
	return retryOptionFunc(func(c *retryConfig) { c.multiplier = f })
}

// Jitter sets the randomization factor of every strategy: a computed wait
// d becomes a uniform draw from [d×(1-f), d×(1+f)]. f must be in [0, 1];
// otherwise Jitter panics.
func Jitter(f float64) RetryOption {
	if !(f >= 0 && f <= 1) {
		panic(fmt.Sprintf("recovery: Jitter: factor must be in [0, 1], got %v", f))
	}
	return retryOptionFunc(func(c *retryConfig) { c.jitter = f; c.jitterSet = true })
}

// NoJitter turns jitter off, so waits are exactly the computed ones.
func NoJitter() RetryOption { return Jitter(0) }

// RetryIf sets the predicate that decides whether a failed attempt is
// retried. The default is [IsRetryable]. Whatever the predicate says, a
// failure that happens once the caller's context is done is never retried.
// A nil predicate panics.
func RetryIf(pred func(error) bool) RetryOption {
	if pred == nil {
		panic("recovery: RetryIf: predicate is nil")
	}
	return retryOptionFunc(func(c *retryConfig) { c.retryIf = pred })
}

// OnRetry registers a hook called synchronously after each failed attempt
// that will be retried, before the wait. Several hooks run in the order
// given. The hook must be safe for concurrent use when the Retrier is
// executed concurrently. A nil hook panics.
func OnRetry(hook func(RetryEvent)) RetryOption {
	if hook == nil {
		panic("recovery: OnRetry: hook is nil")
	}
	return retryOptionFunc(func(c *retryConfig) {
		if prev := c.onRetry; prev != nil {
			c.onRetry = func(e RetryEvent) { prev(e); hook(e) }
			return
		}
		c.onRetry = hook
	})
}

// RetryEvent describes a retry about to happen.
type RetryEvent struct {
	// Attempt is the number of the attempt that failed, from 1.
	Attempt int
	// Err is that attempt's error.
	Err error
	// Delay is the wait before the next attempt.
	Delay time.Duration
	// FromHint reports that Delay comes from the error's Retry-After hint.
	FromHint bool
}
