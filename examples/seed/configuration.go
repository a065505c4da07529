package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ttadev/primitives/integrations/codeexec"
	"github.com/ttadev/primitives/sandbox"
)

// basicConfiguration is the page's "Basic Configuration": the API key comes
// from E2B_API_KEY (without it, the local sandbox), timeout 30 s. Close the
// primitive when done: it closes its sandboxes and its backend.
func basicConfiguration() (*sandbox.CodeExecution, error) {
	return codeexec.FromEnv(codeexec.WithCodeOptions(sandbox.WithTimeout(30 * time.Second)))
}

// advancedConfiguration is the page's "Advanced Configuration". Two
// differences: E2B's "base" template has no code interpreter, so the
// template named is E2B's default; and installs are off unless asked for
// (here they are asked for: the sandboxes get the host's network).
func advancedConfiguration() (*sandbox.CodeExecution, error) {
	return codeexec.FromEnv(codeexec.WithCodeOptions(
		sandbox.WithTimeout(60*time.Second),
		sandbox.WithTemplate("code-interpreter-v1"), // E2B's template; the local sandbox has none
		sandbox.WithPipInstall(true),
		sandbox.WithMaxOutputSize(10_000),
	))
}

func runBasicConfiguration(ctx context.Context, w io.Writer, _ *sandbox.CodeExecution) error {
	return tryOut(ctx, w, basicConfiguration)
}

func runAdvancedConfiguration(ctx context.Context, w io.Writer, _ *sandbox.CodeExecution) error {
	return tryOut(ctx, w, advancedConfiguration)
}

// tryOut builds an executor, says which backend it runs on, runs one cell
// and closes it.
func tryOut(ctx context.Context, w io.Writer, build func() (*sandbox.CodeExecution, error)) error {
	executor, err := build()
	if err != nil {
		return err
	}
	defer executor.Close(ctx)
	out, err := executor.Execute(ctx, sandbox.CodeInput{Code: "print(6 * 7)"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "backend: %s, print(6 * 7) -> %q\n", executor.Pool().Provider().Name(), out.Logs)
	return nil
}
