package main

import (
	"context"
	"strings"

	"github.com/ttadev/primitives"
	"github.com/ttadev/primitives/refine"
	"github.com/ttadev/primitives/sandbox"
)

// This file holds the STAND-INS for the LLM calls the page leaves
// undefined (llm_generate_code, generate_code_with_llm) and for the steps
// of its test-validation workflow. They answer with fixed code so that
// the sections run offline and their output can be checked. For a real
// model in their place see refine/llmgen and examples/refine.

// llmGenerateCode is a STAND-IN for a chat model in the refinement loop:
// its first answer calls a function it never defined; once the history
// shows that error, it answers with working code.
var llmGenerateCode = primitives.From(func(_ context.Context, req refine.Request) (refine.Generation, error) {
	if len(req.History) == 0 {
		return refine.Generation{Code: "print(factorial(5))"}, nil
	}
	return refine.Generation{Code: "def factorial(n):\n    return 1 if n <= 1 else n * factorial(n - 1)\n\nprint(factorial(5))"}, nil
})

// generateCodeWithLLM is a STAND-IN for the model of the test-validation
// workflow: for any requirement it answers with add(a, b) and its tests.
var generateCodeWithLLM = primitives.Lift(func(requirement string) sandbox.CodeInput {
	return sandbox.CodeInput{Code: "# " + requirement + `
def add(a, b):
    return a + b

assert add(1, 2) == 3
assert add(-1, 1) == 0
print("All tests passed!")
`}
})

// TestReport is what validateTestResults finds in a test run.
type TestReport struct {
	Passed bool
	Detail string // the output, or the error when the tests failed
}

// validateTestResults reads the run's output.
var validateTestResults = primitives.Lift(func(out sandbox.CodeOutput) TestReport {
	if !out.Success {
		return TestReport{Detail: out.Error}
	}
	return TestReport{Passed: strings.Contains(out.Logs, "All tests passed!"), Detail: strings.TrimSpace(out.Logs)}
})

// formatResponse writes the report as one line.
var formatResponse = primitives.Lift(func(r TestReport) string {
	if r.Passed {
		return "PASS: " + r.Detail
	}
	return "FAIL: " + r.Detail
})
