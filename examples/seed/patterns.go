package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ttadev/primitives"
	"github.com/ttadev/primitives/performance"
	"github.com/ttadev/primitives/refine"
	"github.com/ttadev/primitives/sandbox"
)

// generateWorkingCode is the page's Pattern 1, "Iterative Code
// Refinement": generate, execute, feed the error back, up to three
// attempts. The loop is package refine; llmGenerateCode is a STAND-IN for
// the model (standin.go). The result holds the working code, its output
// and the failed attempts; when every attempt fails the error is an
// *refine.ExhaustedError with the whole history.
func generateWorkingCode(ctx context.Context, executor *sandbox.CodeExecution, requirement string) (refine.Result, error) {
	loop := refine.New(llmGenerateCode, executor, refine.MaxAttempts(3))
	return loop.Execute(ctx, requirement)
}

func runIterativeRefinement(ctx context.Context, w io.Writer, executor *sandbox.CodeExecution) error {
	res, err := generateWorkingCode(ctx, executor, "Write factorial(n) and print factorial(5).")
	if err != nil {
		return err
	}
	for _, a := range res.History {
		fmt.Fprintf(w, "attempt %d failed: %s\n", a.Number, a.Reason)
	}
	fmt.Fprintf(w, "attempt %d works: %q\n", res.Attempts, res.Output.Logs)
	return nil
}

// testValidationWorkflow is the page's Pattern 2: generate code → execute
// its tests → validate → format, one typed pipeline whose joints the
// compiler checks (string → CodeInput → CodeOutput → TestReport → string).
// generateCodeWithLLM is a STAND-IN (standin.go).
func testValidationWorkflow(executor primitives.Primitive[sandbox.CodeInput, sandbox.CodeOutput]) primitives.Primitive[string, string] {
	return primitives.Pipe4(generateCodeWithLLM, executor, validateTestResults, formatResponse)
}

func runTestValidation(ctx context.Context, w io.Writer, executor *sandbox.CodeExecution) error {
	report, err := testValidationWorkflow(executor).Execute(ctx, "add two numbers")
	if err != nil {
		return err
	}
	fmt.Fprintln(w, report)
	return nil
}

// cachedExecutor is the page's Pattern 3: results cached by code content
// for an hour, so identical code runs once. Close it when done.
func cachedExecutor(executor *sandbox.CodeExecution) *performance.CachePrimitive[sandbox.CodeInput, sandbox.CodeOutput] {
	return performance.CacheBy(executor, func(in sandbox.CodeInput) string { return in.Code }, // cache by code content
		performance.TTL(time.Hour))
}

func runCaching(ctx context.Context, w io.Writer, executor *sandbox.CodeExecution) error {
	cached := cachedExecutor(executor)
	defer cached.Close()
	for range 2 {
		out, err := cached.Execute(ctx, sandbox.CodeInput{Code: "import random; print(random.random())"})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s", out.Logs)
	}
	s := cached.Stats()
	fmt.Fprintf(w, "hits=%d misses=%d\n", s.Hits, s.Misses)
	return nil
}
