package sandboxtest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/sandboxtest"
)

// The seed's unit test in Go: the real primitive over a backend whose
// cells print "42\n".
func ExamplePrinting() {
	ctx := context.Background()
	exec := sandbox.NewCodeExecution(sandboxtest.Printing("42\n"))
	defer exec.Close(ctx)

	result, err := exec.Execute(ctx, sandbox.CodeInput{Code: "print(42)"})
	fmt.Printf("%v %q %v\n", result.Success, result.Logs, err)
	// Output: true "42\n" <nil>
}

// A cell that raises is a result (Success false), not a Go error.
func ExampleRaising() {
	ctx := context.Background()
	exec := sandbox.NewCodeExecution(sandboxtest.Raising("ZeroDivisionError", "division by zero"))
	defer exec.Close(ctx)

	result, err := exec.Execute(ctx, sandbox.CodeInput{Code: "1/0"})
	fmt.Printf("%v %q %v\n", result.Success, result.Error, err)
	// Output: false "ZeroDivisionError: division by zero" <nil>
}

// A stand-in for the whole executor step of a pipeline, answering in order.
func ExampleExecutor() {
	exec := sandboxtest.Executor(
		sandbox.CodeOutput{Success: false, Error: "NameError: name 'x' is not defined"},
		sandbox.CodeOutput{Success: true, Logs: "42\n"},
	)
	for range 3 {
		out, _ := exec.Execute(context.Background(), sandbox.CodeInput{Code: "print(x)"})
		fmt.Printf("%v %q\n", out.Success, out.Logs+out.Error)
	}
	fmt.Println("calls:", exec.CallCount())
	// Output:
	// false "NameError: name 'x' is not defined"
	// true "42\n"
	// true "42\n"
	// calls: 3
}

// Printing keeps New's options: a first creation that fails transiently is
// retried by the pool's caller, and the provider counts both.
func TestPrintingTakesOptions(t *testing.T) {
	transient := recovery.Transient(errors.New("quota"), 0)
	prov := sandboxtest.Printing("ok\n", sandboxtest.Name("flaky"), sandboxtest.OnCreate(func(_ context.Context, n int, _ sandbox.CreateOptions) error {
		if n == 1 {
			return transient
		}
		return nil
	}))
	exec := sandbox.NewCodeExecution(prov)
	defer exec.Close(context.Background())
	if _, err := exec.Execute(context.Background(), sandbox.CodeInput{Code: "x"}); !errors.Is(err, transient) {
		t.Fatalf("first execution: %v, want the creation's error", err)
	}
	out, err := exec.Execute(context.Background(), sandbox.CodeInput{Code: "x"})
	if err != nil || !out.Success || out.Logs != "ok\n" {
		t.Fatalf("second execution: %+v, %v", out, err)
	}
	if s := prov.Stats(); s.CreateFailures != 1 || s.Created != 1 || s.Runs != 1 || prov.Name() != "flaky" {
		t.Fatalf("stats %+v name %q", s, prov.Name())
	}
}

// Raising fills the exception's parts the way a backend does.
func TestRaisingParts(t *testing.T) {
	exec := sandbox.NewCodeExecution(sandboxtest.Raising("ValueError", "bad"))
	defer exec.Close(context.Background())
	out, err := exec.Execute(context.Background(), sandbox.CodeInput{Code: "raise ValueError('bad')"})
	if err != nil || out.Success || out.ErrorName != "ValueError" || out.ErrorValue != "bad" || out.Error != "ValueError: bad" {
		t.Fatalf("%+v, %v", out, err)
	}
}

// Executor records every input, and with no outputs answers the zero value.
func TestExecutorRecordsAndZero(t *testing.T) {
	exec := sandboxtest.Executor()
	out, err := exec.Execute(context.Background(), sandbox.CodeInput{Code: "a"})
	if err != nil || out.Success || out.Logs != "" {
		t.Fatalf("%+v, %v", out, err)
	}
	_, _ = exec.Execute(context.Background(), sandbox.CodeInput{Code: "b"})
	if in := exec.Inputs(); len(in) != 2 || in[0].Code != "a" || in[1].Code != "b" {
		t.Fatalf("inputs %+v", in)
	}
}
