package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/sandbox"
)

// e2bExecutor is the page's "Authentication / API Key": the key from the
// environment (recommended), or written in the program (not in
// production). The key never appears in an error, a log record or a span.
func e2bExecutor() (*sandbox.CodeExecution, error) {
	apiKey := os.Getenv("E2B_API_KEY") // or apiKey := "e2b_..."
	return e2b.NewCodeExecutionPrimitive(e2b.WithAPIKey(apiKey))
}

// runAuthentication builds the E2B executor. Without E2B_API_KEY the
// constructor refuses at once, before any request; with it, the program
// runs one cell on E2B's cloud.
func runAuthentication(ctx context.Context, w io.Writer, _ *sandbox.CodeExecution) error {
	executor, err := e2bExecutor()
	if err != nil {
		fmt.Fprintln(w, "refused:", errors.Is(err, e2b.ErrE2B), err)
		return nil
	}
	defer executor.Close(ctx)
	out, err := executor.Execute(ctx, sandbox.CodeInput{Code: "print(42)"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "E2B: %q\n", out.Logs)
	return nil
}
