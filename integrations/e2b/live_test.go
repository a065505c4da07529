package e2b_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/sandbox"
)

// TestLiveE2B runs against the real service. It needs E2B_API_KEY and
// RUN_INTEGRATION=true, and is skipped otherwise:
//
//	E2B_API_KEY=e2b_... RUN_INTEGRATION=true go test -run TestLiveE2B ./integrations/e2b/
func TestLiveE2B(t *testing.T) {
	if os.Getenv("E2B_API_KEY") == "" || os.Getenv("RUN_INTEGRATION") != "true" {
		t.Skip("set E2B_API_KEY and RUN_INTEGRATION=true to run against E2B")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	exec, err := e2b.NewCodeExecutionPrimitive(e2b.WithTimeout(60*time.Second), e2b.WithSandboxLifetime(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := exec.Close(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	out, err := exec.Execute(ctx, sandbox.CodeInput{Code: "def factorial(n):\n    return 1 if n <= 1 else n * factorial(n-1)\n\nprint(factorial(5))"})
	if err != nil || !out.Success || out.Logs != "120\n" {
		t.Fatalf("%v %+v", err, out)
	}
	out, err = exec.Execute(ctx, sandbox.CodeInput{Code: "print('missing quote)"})
	if err != nil || out.Success || out.ErrorName != "SyntaxError" {
		t.Fatalf("%v %+v", err, out)
	}
	out, err = exec.Execute(ctx, sandbox.CodeInput{Code: "1 + 1"})
	if err != nil || out.Text() != "2" {
		t.Fatalf("%v %+v", err, out)
	}
}
