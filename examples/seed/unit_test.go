package main

import (
	"context"
	"strings"
	"testing"

	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/sandboxtest"
)

// TestCodeExecutionSuccess is the page's unit test, "Testing / Unit
// Tests": the real primitive over a stand-in backend whose cells print
// "42\n" (the page replaces the E2B client the same way), so the test
// needs no Python, no key and no network.
func TestCodeExecutionSuccess(t *testing.T) {
	executor := sandbox.NewCodeExecution(sandboxtest.Printing("42\n"))
	defer executor.Close(context.Background())

	result, err := executor.Execute(context.Background(), sandbox.CodeInput{Code: "print(42)"})
	if err != nil {
		t.Fatal(err)
	}
	if !result.Success || !strings.Contains(result.Logs, "42") {
		t.Fatalf("got %+v", result)
	}
}

// To stand in for the whole executor of a pipeline instead,
// sandboxtest.Executor is one line: here Pattern 2's workflow, checked
// without running anything.
func TestWorkflowWithStandInExecutor(t *testing.T) {
	executor := sandboxtest.Executor(sandbox.CodeOutput{Success: false, Error: "AssertionError"})
	report, err := testValidationWorkflow(executor).Execute(context.Background(), "add two numbers")
	if err != nil || report != "FAIL: AssertionError" {
		t.Fatalf("%q, %v", report, err)
	}
	if in := executor.Inputs(); len(in) != 1 || !strings.Contains(in[0].Code, "def add(a, b)") {
		t.Fatalf("the executor got %+v", in)
	}
}
