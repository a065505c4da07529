package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ttadev/primitives"
	"github.com/ttadev/primitives/integrations/codeexec"
	"github.com/ttadev/primitives/sandbox"
)

// basicExecution is the page's "Basic Execution".
func basicExecution(ctx context.Context, w io.Writer) error {
	executor, err := codeexec.FromEnv()
	if err != nil {
		return err
	}
	defer executor.Close(ctx)
	code := `
def factorial(n):
    return 1 if n <= 1 else n * factorial(n-1)

print(factorial(5))
`
	ctx = primitives.WithWorkflow(ctx, primitives.NewWorkflowContext(primitives.CorrelationID("exec-123")))
	result, err := executor.Execute(ctx, sandbox.CodeInput{Code: code})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, result.Success)     // true
	fmt.Fprintf(w, "%q\n", result.Logs) // "120\n"
	return nil
}

// withErrorHandling is the page's "With Error Handling": an error in the
// code is a result (Success false), not a Go error.
func withErrorHandling(ctx context.Context, w io.Writer, executor *sandbox.CodeExecution) error {
	badCode := "print('missing quote)"
	result, err := executor.Execute(ctx, sandbox.CodeInput{Code: badCode})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, result.Success) // false
	fmt.Fprintln(w, result.Error)   // SyntaxError: unterminated string literal (detected at line 1) (<cell-1>, line 1)
	return nil
}

// installPackages is the page's "Install Packages", on an executor with
// installs off (the default: sandbox.WithPipInstall(false)). pip stops at
// once with the message that installs are off and how to turn them on,
// the import fails, and the page's request to api.github.com is never made
// (it could not leave the sandbox anyway: its network is off).
// runInstallPackages then installs for real with installs on.
func installPackages(ctx context.Context, w io.Writer, executor *sandbox.CodeExecution) error {
	code := `
# Install package
import os
os.system('pip install requests')

import requests
response = requests.get('https://api.github.com')
print(response.status_code)
`
	result, err := executor.Execute(ctx, sandbox.CodeInput{Code: code, Timeout: 60 * time.Second})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, result.Success, result.Error)              // false ModuleNotFoundError: No module named 'requests'
	fmt.Fprintln(w, strings.SplitN(result.Stderr, "\n", 2)[0]) // pip: package installs are off in this sandbox ...
	return nil
}
