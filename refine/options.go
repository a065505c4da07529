package refine

import (
	"fmt"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/sandbox"
)

// Option configures a [Loop] built by [New]: the options of this file and
// the telemetry option observability.Option.
type Option interface {
	ForRefine(seal.Token)
}

type option func(*config)

func (option) ForRefine(seal.Token) {}

// Defaults of a Loop.
const (
	// DefaultMaxAttempts is the number of attempts of a Loop without
	// [MaxAttempts], as in TTA.dev's refinement example.
	DefaultMaxAttempts = 3
	// DefaultFeedbackLimit is the number of bytes of each output text
	// (logs, traceback, error value) kept in an [Attempt].
	DefaultFeedbackLimit = 2000
)

// MaxAttempts sets the number of attempts (default 3); n < 1 panics.
func MaxAttempts(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("refine: MaxAttempts(%d): must be at least 1", n))
	}
	return option(func(c *config) { c.maxAttempts = n })
}

// TokenBudget bounds the tokens spent over all attempts, as the generator
// reports them in [Generation].Usage (counted by [Usage.Total]). The
// budget is checked before each generation after the first: once the
// tokens reported reach n, the loop stops with an *ExhaustedError whose
// Stop is [StopTokenBudget]. A generation that started within the budget
// runs to its end, so the total can pass n by at most one generation;
// [Request].TokensLeft lets the generator cap its reply to what is left.
// 0 means no budget (the default); n < 0 panics.
func TokenBudget(n int64) Option {
	if n < 0 {
		panic(fmt.Sprintf("refine: TokenBudget(%d): must not be negative", n))
	}
	return option(func(c *config) { c.budget = n })
}

// Tests appends tests to every candidate before it runs, separated by a
// blank line, so the execution succeeds only when the tests pass (an
// assert that fails is an AssertionError fed back). The tests are also
// passed to the generator in [Request].Tests. Blank tests mean none.
func Tests(tests string) Option {
	return option(func(c *config) { c.tests = tests })
}

// Validate adds a validator that judges each successful execution (a
// failed execution is a failed attempt without asking it): a refusal is a
// failed attempt with the verdict's reason; a Go error it returns ends the
// loop with that error. A nil validator panics.
func Validate(v primitives.Primitive[sandbox.CodeOutput, Verdict]) Option {
	if primitives.IsNil(v) {
		panic("refine: Validate: validator is nil")
	}
	return option(func(c *config) { c.validate = v })
}

// BaseInput sets the fields of the executor's input other than the code
// (a timeout, environment variables, the language) for every execution;
// its Code is ignored.
func BaseInput(in sandbox.CodeInput) Option {
	return option(func(c *config) { in.Code = ""; c.input = in })
}

// FeedbackLimit sets how many bytes of each output text of a failed
// attempt (logs, stdout, stderr, error value, traceback) are kept in the
// history and so reach the next prompt; the end is kept, where a
// traceback names the error. Default 2000; n < 1 panics.
func FeedbackLimit(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("refine: FeedbackLimit(%d): must be at least 1", n))
	}
	return option(func(c *config) { c.feedbackLimit = n })
}
