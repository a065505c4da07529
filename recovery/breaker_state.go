package recovery

import (
	"errors"
	"fmt"
	"time"
)

// State is a circuit breaker's state.
type State uint8

const (
	// StateClosed lets every call through and counts failures.
	StateClosed State = iota
	// StateOpen fails every call fast with [ErrCircuitOpen].
	StateOpen
	// StateHalfOpen lets a few trial calls through to probe recovery.
	StateHalfOpen
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateOpen:
		return "open"
	case StateHalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// StateChange describes one transition of a circuit breaker.
type StateChange struct {
	From, To State
	// At is the breaker clock's time of the change.
	At time.Time
}

// ErrCircuitOpen is matched (errors.Is) by the *OpenError returned when a
// circuit breaker refuses a call.
var ErrCircuitOpen = errors.New("circuit breaker is open")

// OpenError is returned, without calling the protected primitive, while
// the circuit is open, or while it is half-open and the allowed trial calls
// are all in flight. It matches [ErrCircuitOpen], is retryable, and its
// Retry-After hint is the time left before trial calls are let through, so
// Retry(CircuitBreaker(p)) waits for the circuit rather than hammering it.
type OpenError struct {
	// State is StateOpen or StateHalfOpen.
	State State
	// Remaining is the time left before the circuit goes half-open (0 when
	// it is already half-open).
	Remaining time.Duration
}

// Error says the circuit refused the call and when trial calls resume.
func (e *OpenError) Error() string {
	if e.State == StateHalfOpen {
		return "circuit breaker is half-open: trial calls in flight"
	}
	return fmt.Sprintf("circuit breaker is open: trial calls in %s", e.Remaining)
}

// Is matches ErrCircuitOpen.
func (e *OpenError) Is(target error) bool { return target == ErrCircuitOpen }

// Retryable reports true: the circuit will let calls through again.
func (e *OpenError) Retryable() bool { return true }

// RetryAfter returns Remaining.
func (e *OpenError) RetryAfter() time.Duration { return e.Remaining }
