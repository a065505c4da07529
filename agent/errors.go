package agent

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinels matched (errors.Is) by the errors of this package.
var (
	// ErrLimit is matched by every *LimitError.
	ErrLimit = errors.New("agent: limit reached")
	// ErrDenied is matched by the Call.Err of a call the approval hook
	// refused.
	ErrDenied = errors.New("agent: tool call denied")
	// ErrUnknownTool is matched by the Call.Err of a call of a tool the
	// agent does not have.
	ErrUnknownTool = errors.New("agent: unknown tool")
)

// LimitError reports a run stopped by one of its limits: MaxTurns,
// TokenBudget, TimeBudget or MaxToolCallsPerTurn. It matches [ErrLimit]
// and is not retryable: the budget is spent, and the same run would spend
// it again.
//
// Result holds the run so far. The tool calls of the last reply were not
// run (nobody would read their results); the transcript answers each of
// them with an error result saying so, so that Result.Messages can be
// given back as Input.Messages to let the model go on.
type LimitError struct {
	// Limit is the limit reached: StopMaxTurns, StopTokenBudget,
	// StopTimeBudget or StopMaxToolCalls.
	Limit Stop
	// Result is the run so far, with Result.Stop set to Limit.
	Result Result
}

// Error names the limit and the run's progress.
func (e *LimitError) Error() string {
	var b strings.Builder
	b.WriteString("agent: ")
	switch e.Limit {
	case StopMaxTurns:
		b.WriteString("turn limit reached")
	case StopTokenBudget:
		b.WriteString("token budget spent (" + strconv.FormatInt(e.Result.Usage.Total(), 10) + " tokens)")
	case StopTimeBudget:
		b.WriteString("time budget spent")
	case StopMaxToolCalls:
		b.WriteString("too many tool calls in one reply")
	default:
		b.WriteString("limit " + string(e.Limit) + " reached")
	}
	fmt.Fprintf(&b, " after %d turn", e.Result.Turns)
	if e.Result.Turns != 1 {
		b.WriteString("s")
	}
	fmt.Fprintf(&b, " and %d tool call", len(e.Result.Calls))
	if len(e.Result.Calls) != 1 {
		b.WriteString("s")
	}
	return b.String()
}

// Is matches ErrLimit.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// Retryable reports false.
func (e *LimitError) Retryable() bool { return false }

// RunError reports a run ended by an error that is not the model's answer
// nor a limit: the model's call failed (a rate limit, a lost connection,
// an *llm.RefusalError), a tool's infrastructure failed (a sandbox that
// could not be created, a tool's retryable error, a *primitives.PanicError
// of a tool that panicked), or the caller's context ended. It unwraps to
// that error, so errors.Is, errors.As and recovery.IsRetryable see
// through it: it has no retry verdict of its own.
type RunError struct {
	// Turn is the turn that failed, from 1.
	Turn int
	// Tool and CallID name the tool call that failed; both are empty when
	// the model's call failed or the context ended.
	Tool, CallID string
	// Err is the error.
	Err error
	// Result is the run so far: the transcript up to the failure, the
	// calls made, the usage.
	Result Result
}

// Error names the turn, the tool when one failed, and the error.
func (e *RunError) Error() string {
	s := "agent: turn " + strconv.Itoa(e.Turn) + ": "
	if e.Tool != "" {
		s += "tool " + e.Tool + ": "
	}
	return s + e.Err.Error()
}

// Unwrap returns Err.
func (e *RunError) Unwrap() error { return e.Err }
