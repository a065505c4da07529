package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ttadev/primitives/integrations/codeexec"
	"github.com/ttadev/primitives/sandbox"
)

// validateCode is the page's Example 1, "Validate Generated Code": it runs
// the code and reports whether it ran without raising. A Go error means
// the code could not be run at all (no backend, a timeout).
func validateCode(ctx context.Context, generatedCode string) (bool, error) {
	executor, err := codeexec.FromEnv()
	if err != nil {
		return false, err
	}
	defer executor.Close(ctx)
	result, err := executor.Execute(ctx, sandbox.CodeInput{Code: generatedCode})
	return result.Success, err
}

func runValidateCode(ctx context.Context, w io.Writer, _ *sandbox.CodeExecution) error {
	for _, code := range []string{`print("Hello, World!")`, `print("Hello, World!)`} {
		isValid, err := validateCode(ctx, code)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s -> %v\n", code, isValid)
	}
	return nil
}

// runTests is the page's Example 2, "Run Tests": the tests are asserts,
// and a failing one would make Success false with an AssertionError.
func runTests(ctx context.Context, w io.Writer, executor *sandbox.CodeExecution) error {
	testCode := `
def add(a, b):
    return a + b

# Tests
assert add(1, 2) == 3
assert add(-1, 1) == 0
assert add(0, 0) == 0

print("All tests passed!")
`
	result, err := executor.Execute(ctx, sandbox.CodeInput{Code: testCode})
	if err != nil {
		return err
	}
	fmt.Fprint(w, result.Logs) // All tests passed!
	return nil
}
