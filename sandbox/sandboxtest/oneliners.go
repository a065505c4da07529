package sandboxtest

import (
	"context"

	"github.com/ttadev/primitives/primitivetest"
	"github.com/ttadev/primitives/sandbox"
)

// Printing returns a Provider whose every cell prints text on stdout and
// succeeds, whatever its code: the one-line stand-in for a backend in a
// test of how a pipeline uses the output.
//
//	exec := sandbox.NewCodeExecution(sandboxtest.Printing("42\n"))
//
// The primitive, its pool and its telemetry run for real on top of it;
// only the code is not run. opts are applied as by New (OnCreate to make
// creations fail, Name, ...). It costs what New costs; the Provider is
// safe for concurrent use.
func Printing(text string, opts ...Option) *Provider {
	return New(func(context.Context, *Sandbox, string, sandbox.RunOptions) (*sandbox.Execution, error) {
		return Output(text), nil
	}, opts...)
}

// Raising returns a Provider whose every cell raises the exception name
// with value (a failure of the user's code: the primitive reports
// Success false and Error "name: value", with a nil Go error).
//
//	exec := sandbox.NewCodeExecution(sandboxtest.Raising("ZeroDivisionError", "division by zero"))
//
// opts are applied as by New. The Provider is safe for concurrent use.
func Raising(name, value string, opts ...Option) *Provider {
	return New(func(context.Context, *Sandbox, string, sandbox.RunOptions) (*sandbox.Execution, error) {
		return Raise(name, value), nil
	}, opts...)
}

// Executor returns a stand-in for a whole code-execution primitive (a
// primitives.Primitive[sandbox.CodeInput, sandbox.CodeOutput]) that answers
// outs in order and then repeats the last one, and records its calls
// (CallCount, Inputs, AssertCalled). With no outs it answers the zero
// CodeOutput. Use it where a test replaces the executor step of a pipeline;
// use Printing to keep the real primitive and replace only the backend.
//
//	exec := sandboxtest.Executor(sandbox.CodeOutput{Success: true, Logs: "42\n"})
//
// It is primitivetest.Sequence[sandbox.CodeInput](outs...) and is safe for
// concurrent use.
func Executor(outs ...sandbox.CodeOutput) *primitivetest.Mock[sandbox.CodeInput, sandbox.CodeOutput] {
	return primitivetest.Sequence[sandbox.CodeInput](outs...)
}
