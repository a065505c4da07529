package recovery

import (
	"errors"
	"fmt"
	"time"

	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/observability"
)

// Defaults of [CircuitBreaker].
const (
	DefaultFailureThreshold = 5
	DefaultRecoveryTimeout  = 60 * time.Second
	DefaultSuccessThreshold = 2
	DefaultHalfOpenMaxCalls = 1
)

// Clock tells the time and waits. [WithClock] lets tests drive a
// CircuitBreaker or a Retry without sleeping (package recoverytest has a
// clock moved by hand). Implementations must be safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives once d has passed on this
	// clock, as time.After does.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the wall clock: time.Now and time.After.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

type breakerConfig struct {
	failureThreshold int
	thresholdSet     bool
	ratio            float64
	minCalls         int
	window           time.Duration
	recovery         time.Duration
	successThreshold int
	halfOpenMax      int
	failureIf        func(error) bool
	onStateChange    func(StateChange)
	clock            Clock
	telemetry        observability.Providers
}

func newBreakerConfig(opts []BreakerOption) breakerConfig {
	c := breakerConfig{
		failureThreshold: DefaultFailureThreshold,
		recovery:         DefaultRecoveryTimeout,
		successThreshold: DefaultSuccessThreshold,
		halfOpenMax:      DefaultHalfOpenMaxCalls,
		failureIf:        defaultBreakerFailure,
		clock:            systemClock{},
	}
	applyOptions("CircuitBreaker", opts, &c.telemetry, func(o BreakerOption) bool {
		switch o := o.(type) {
		case breakerOptionFunc:
			o(&c)
		case ClockOption:
			c.clock = o.clock
		default:
			return false
		}
		return true
	})
	if c.ratio > 0 && !c.thresholdSet {
		c.failureThreshold = 0 // the ratio rule replaces the consecutive one
	}
	return c
}

// defaultBreakerFailure counts every error except bad input, which says
// nothing about the health of the protected dependency.
func defaultBreakerFailure(err error) bool {
	var bad *InvalidInputError
	return !errors.As(err, &bad)
}

// FailureThreshold opens the circuit after n consecutive failures (default
// 5). Given together with [FailureRatio], either rule opens it. An n < 1
// panics.
func FailureThreshold(n int) BreakerOption {
	if n < 1 {
		panic(fmt.Sprintf("recovery: FailureThreshold: threshold must be >= 1, got %d", n))
	}
	return breakerOptionFunc(func(c *breakerConfig) { c.failureThreshold = n; c.thresholdSet = true })
}

// FailureRatio opens the circuit when, over the last window of time, at
// least minCalls calls were made and the share of failures reached ratio.
// It replaces the consecutive-failure rule unless [FailureThreshold] is
// also given. The window is kept as 10 buckets under a mutex, and the clock
// is read on each call, so the closed path costs more than with the
// consecutive rule alone. It panics unless 0 < ratio <= 1, minCalls >= 1
// and window > 0.
func FailureRatio(ratio float64, minCalls int, window time.Duration) BreakerOption {
	if !(ratio > 0 && ratio <= 1) {
		panic(fmt.Sprintf("recovery: FailureRatio: ratio must be in (0, 1], got %v", ratio))
	}
	if minCalls < 1 {
		panic(fmt.Sprintf("recovery: FailureRatio: minCalls must be >= 1, got %d", minCalls))
	}
	if window <= 0 {
		panic(fmt.Sprintf("recovery: FailureRatio: window must be > 0, got %s", window))
	}
	return breakerOptionFunc(func(c *breakerConfig) { c.ratio, c.minCalls, c.window = ratio, minCalls, window })
}

// RecoveryTimeout sets how long the circuit stays open before letting trial
// calls through (default 60 s). A d <= 0 panics.
func RecoveryTimeout(d time.Duration) BreakerOption {
	if d <= 0 {
		panic(fmt.Sprintf("recovery: RecoveryTimeout: duration must be > 0, got %s", d))
	}
	return breakerOptionFunc(func(c *breakerConfig) { c.recovery = d })
}

// SuccessThreshold sets how many successful trial calls close a half-open
// circuit (default 2). An n < 1 panics.
func SuccessThreshold(n int) BreakerOption {
	if n < 1 {
		panic(fmt.Sprintf("recovery: SuccessThreshold: threshold must be >= 1, got %d", n))
	}
	return breakerOptionFunc(func(c *breakerConfig) { c.successThreshold = n })
}

// HalfOpenMaxCalls bounds how many trial calls may run at once while the
// circuit is half-open (default 1); the others fail fast with
// [ErrCircuitOpen]. An n < 1 panics.
func HalfOpenMaxCalls(n int) BreakerOption {
	if n < 1 {
		panic(fmt.Sprintf("recovery: HalfOpenMaxCalls: limit must be >= 1, got %d", n))
	}
	return breakerOptionFunc(func(c *breakerConfig) { c.halfOpenMax = n })
}

// FailureIf sets which errors count as failures of the protected
// dependency; an error it refuses counts as a success. The default counts
// every error except an *InvalidInputError. Whatever the predicate says, an
// error returned once the caller cancelled its context counts as nothing.
// A nil predicate panics.
func FailureIf(pred func(error) bool) BreakerOption {
	if pred == nil {
		panic("recovery: FailureIf: predicate is nil")
	}
	return breakerOptionFunc(func(c *breakerConfig) { c.failureIf = pred })
}

// OnStateChange registers a hook called on every state change, in order,
// while the breaker holds its transition lock: keep it short, and do not
// call the breaker's Execute from it (State is fine). Several hooks run in
// the order given. A nil hook panics.
func OnStateChange(hook func(StateChange)) BreakerOption {
	if hook == nil {
		panic("recovery: OnStateChange: hook is nil")
	}
	return breakerOptionFunc(func(c *breakerConfig) {
		if prev := c.onStateChange; prev != nil {
			c.onStateChange = func(s StateChange) { prev(s); hook(s) }
			return
		}
		c.onStateChange = hook
	})
}

// ClockOption sets the clock of [Retry] (its waits) or [CircuitBreaker]
// (its recovery timeout and failure window). Build it with [WithClock].
type ClockOption struct{ clock Clock }

// ForRetry marks ClockOption as an option of Retry.
func (ClockOption) ForRetry(seal.Token) {}

// ForCircuitBreaker marks ClockOption as an option of CircuitBreaker.
func (ClockOption) ForCircuitBreaker(seal.Token) {}

// WithClock makes Retry or CircuitBreaker read the time and wait on c
// instead of the wall clock, so tests can move time forward without
// sleeping. A nil clock panics.
func WithClock(c Clock) ClockOption {
	if c == nil {
		panic("recovery: WithClock: clock is nil")
	}
	return ClockOption{clock: c}
}
