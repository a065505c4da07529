package refine

import (
	"strconv"
	"strings"

	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/tokens"
)

// Request is what the generator receives for each attempt.
type Request struct {
	// Requirement is the loop's input: what the code must do.
	Requirement string
	// Tests is the test code appended to each candidate before it runs
	// (see [Tests]), or "". A generator shows it to the model so that the
	// code is written to pass it.
	Tests string
	// Attempt is the number of this attempt, from 1.
	Attempt int
	// History holds the failed attempts so far, oldest first. It belongs
	// to the loop: read it, do not modify it.
	History []Attempt
	// TokensLeft is what remains of the token budget, or 0 when the loop
	// has no budget. It is always positive when there is a budget, since
	// the loop stops before a generation once the budget is spent.
	TokensLeft int64
}

// Generation is the generator's answer: the code to run and what it cost.
type Generation struct {
	// Code is the program to run. Blank code is a failed attempt ("no
	// code in the reply"), not an error.
	Code string
	// Usage is the tokens spent producing Code; zero when the generator
	// does not know. The loop adds it up and checks it against the
	// budget.
	Usage Usage
}

// Usage counts tokens, with the fields chat models report: the one type
// of the module for token counts, the same as llm.Usage, so a generator
// built on integrations/llm passes the provider's usage as it is. The
// token budget counts [Usage.Total] (input plus output).
type Usage = tokens.Usage

// Attempt records one failed attempt, as the next generation sees it.
type Attempt struct {
	// Number is the attempt's number, from 1.
	Number int `json:"number"`
	// Code is the generated code (without the tests appended to it).
	Code string `json:"code"`
	// Output is what the execution returned, with Logs, Stdout, Stderr,
	// ErrorValue, Error and Traceback cut to their last [FeedbackLimit]
	// bytes and Results dropped, so a history stays small whatever the
	// code printed. It is the zero CodeOutput when nothing ran (no code in
	// the reply, or the code timed out); when the code crashed or went
	// over a limit of its sandbox, it holds what the code printed before.
	Output sandbox.CodeOutput `json:"output"`
	// Reason says why the attempt failed: the exception ("NameError: name
	// 'x' is not defined"), a timeout, a crash of the interpreter, a limit
	// of the sandbox (memory), the validator's reason, or that the reply
	// held no code.
	Reason string `json:"reason"`
	// Usage is the tokens the generator reported for this attempt.
	Usage Usage `json:"usage"`
}

// Feedback renders the failure for a prompt: the reason, the traceback
// and the output, each under a heading, leaving out what is empty. The
// code is not included; a chat generator sends it as the model's own
// earlier message.
func (a Attempt) Feedback() string {
	var b strings.Builder
	b.WriteString("Attempt ")
	b.WriteString(strconv.Itoa(a.Number))
	b.WriteString(" failed: ")
	b.WriteString(a.Reason)
	b.WriteString("\n")
	if tb := strings.TrimRight(a.Output.Traceback, "\n"); tb != "" {
		b.WriteString("\nTraceback:\n")
		b.WriteString(tb)
		b.WriteString("\n")
	}
	if logs := strings.TrimRight(a.Output.Logs, "\n"); logs != "" {
		b.WriteString("\nOutput:\n")
		b.WriteString(logs)
		b.WriteString("\n")
	}
	return b.String()
}

// Verdict is a validator's judgement of a successful execution.
type Verdict struct {
	// OK accepts the code.
	OK bool
	// Reason says what is wrong when OK is false; it is fed to the next
	// generation.
	Reason string
}

// Pass returns a Verdict accepting the code.
func Pass() Verdict { return Verdict{OK: true} }

// Fail returns a Verdict refusing the code for reason.
func Fail(reason string) Verdict { return Verdict{Reason: reason} }

// Result is the loop's output: working code and what it printed.
type Result struct {
	// Code is the generated code that passed (without the tests).
	Code string
	// Output is its execution, as the executor returned it (with the
	// tests' output when tests were appended).
	Output sandbox.CodeOutput
	// Attempts is the number of attempts used, from 1.
	Attempts int
	// Usage is the tokens reported over every attempt.
	Usage Usage
	// History holds the failed attempts before the working one, oldest
	// first (Attempts-1 of them).
	History []Attempt
}
