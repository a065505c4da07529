package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ttadev/primitives"
	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/integrations/e2b/e2btest"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/sandboxtest"
)

// commonErrors is the page's "Common Errors": each Python exception and
// how Go code recognises it. The fixes are the page's: give code; fix the
// loop or raise the timeout (60*time.Second, never 60, which is 60 ns and
// refused); check the API key and E2B's status.
func commonErrors(ctx context.Context, w io.Writer, executor, e2bExecutor *sandbox.CodeExecution) error {
	// ValueError: missing code is a *recovery.InvalidInputError, before any sandbox is used.
	_, err := executor.Execute(ctx, sandbox.CodeInput{})
	fmt.Fprintln(w, "missing code:", err)
	// TimeoutError: the run is stopped and the error matches recovery.ErrTimeout.
	code := "while True: pass"
	_, err = executor.Execute(ctx, sandbox.CodeInput{Code: code, Timeout: time.Second})
	fmt.Fprintln(w, "infinite loop:", errors.Is(err, recovery.ErrTimeout), err)
	// E2BError: every failure of the E2B backend matches e2b.ErrE2B.
	_, err = e2bExecutor.Execute(ctx, sandbox.CodeInput{Code: "print('hi')"})
	fmt.Fprintln(w, "E2B failure:", errors.Is(err, e2b.ErrE2B), err)
	return nil
}

// runCommonErrors plays E2B's service with a fake server on loopback
// (e2btest) that refuses the key given.
func runCommonErrors(ctx context.Context, w io.Writer, executor *sandbox.CodeExecution) error {
	server := e2btest.NewServer()
	defer server.Close()
	wrongKey := "e2b_" + strings.Repeat("0", 40)
	e2bExecutor, err := e2b.NewCodeExecutionPrimitive(append(server.PrimitiveOptions(), e2b.WithAPIKey(wrongKey))...)
	if err != nil {
		return err
	}
	defer e2bExecutor.Close(ctx)
	return commonErrors(ctx, w, executor, e2bExecutor)
}

// resilientExecutor is the page's "Retry Strategy": up to 3 retries with
// exponential backoff. Only what may succeed next time is retried (an E2B
// rate limit or outage, a crashed sandbox), never bad input, a refused key
// or code that timed out.
func resilientExecutor(executor primitives.Primitive[sandbox.CodeInput, sandbox.CodeOutput]) *recovery.Retrier[sandbox.CodeInput, sandbox.CodeOutput] {
	return recovery.Retry(executor, recovery.MaxRetries(3), recovery.Exponential())
}

// runRetry runs the retried executor on the local sandbox, then on a test
// backend whose first two sandbox creations fail as an E2B rate limit
// does (transient, retry after 50 ms).
func runRetry(ctx context.Context, w io.Writer, executor *sandbox.CodeExecution) error {
	out, err := resilientExecutor(executor).Execute(ctx, sandbox.CodeInput{Code: "print('first try')"})
	if err != nil {
		return err
	}
	fmt.Fprint(w, "local: ", out.Logs)

	backend := sandboxtest.Printing("third try\n", sandboxtest.OnCreate(
		func(_ context.Context, n int, _ sandbox.CreateOptions) error {
			if n <= 2 {
				return recovery.Transient(errors.New("rate limited"), 50*time.Millisecond)
			}
			return nil
		}))
	flaky := sandbox.NewCodeExecution(backend)
	defer flaky.Close(ctx)
	out, err = resilientExecutor(flaky).Execute(ctx, sandbox.CodeInput{Code: "print('hi')"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "flaky backend: %d failures retried, then %s", backend.Stats().CreateFailures, out.Logs)
	return nil
}
