package refine

import (
	"errors"
	"strconv"
)

// ErrNoWorkingCode is matched (errors.Is) by every *ExhaustedError.
var ErrNoWorkingCode = errors.New("refine: no working code")

// Stop says why a loop gave up.
type Stop string

// Values of Stop.
const (
	// StopMaxAttempts: every attempt allowed by MaxAttempts failed.
	StopMaxAttempts Stop = "max_attempts"
	// StopTokenBudget: the tokens reported reached the TokenBudget
	// before the attempts ran out.
	StopTokenBudget Stop = "token_budget"
)

// ExhaustedError reports a loop that ended without working code. It
// matches [ErrNoWorkingCode] and is not retryable: the loop has already
// made its attempts.
type ExhaustedError struct {
	// Stop says which limit was reached.
	Stop Stop
	// Attempts is the number of attempts made.
	Attempts int
	// Usage is the tokens reported over every attempt.
	Usage Usage
	// History holds every attempt, oldest first.
	History []Attempt
}

// Error names the limit, the number of attempts and the last attempt's
// reason.
func (e *ExhaustedError) Error() string {
	s := "refine: no working code after " + strconv.Itoa(e.Attempts) + " attempt"
	if e.Attempts != 1 {
		s += "s"
	}
	if e.Stop == StopTokenBudget {
		s += " (token budget spent: " + strconv.FormatInt(e.Usage.Total(), 10) + " tokens)"
	}
	if n := len(e.History); n > 0 {
		s += "; last: " + head(e.History[n-1].Reason, 200)
	}
	return s
}

// Is matches ErrNoWorkingCode.
func (e *ExhaustedError) Is(target error) bool { return target == ErrNoWorkingCode }

// Retryable reports false.
func (e *ExhaustedError) Retryable() bool { return false }
