package e2b_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/integrations/e2b/e2btest"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// The seed's CodeExecutionPrimitive, here pointed at the fake server; in
// production, set E2B_API_KEY and drop the server options.
func ExampleNewCodeExecutionPrimitive() {
	srv := e2btest.NewServer()
	defer srv.Close()

	exec, err := e2b.NewCodeExecutionPrimitive(append(srv.PrimitiveOptions(),
		e2b.WithTimeout(30*time.Second), e2b.WithMaxOutputSize(10_000))...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer exec.Close(context.Background())

	out, err := exec.Execute(context.Background(), sandbox.CodeInput{
		Code: "def factorial(n):\n    return 1 if n <= 1 else n * factorial(n-1)\n\nprint(factorial(5))",
	})
	fmt.Printf("success=%v logs=%q err=%v\n", out.Success, out.Logs, err)

	out, err = exec.Execute(context.Background(), sandbox.CodeInput{Code: "print('missing quote)"})
	fmt.Printf("success=%v error=%.11s err=%v\n", out.Success, out.Error, err)
	// Output:
	// success=true logs="120\n" err=<nil>
	// success=false error=SyntaxError err=<nil>
}

// Direct use of the client: create a sandbox, stream an execution, kill it.
// The fake answers 502 "port is not open" for a moment after creation, as
// E2B does; CreateSandbox returns once the sandbox is ready, so nothing
// here retries.
func ExampleSandbox_Execute() {
	srv := e2btest.NewServer(e2btest.WithStartupDelay(300 * time.Millisecond))
	defer srv.Close()
	client, err := e2b.NewClient(srv.ClientOptions()...)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	sb, err := client.CreateSandbox(ctx, e2b.CreateParams{Lifetime: 5 * time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sb.Kill(ctx)

	// OnStdout fires as each chunk arrives (chunk boundaries are the
	// sandbox's, not necessarily lines).
	var streamed strings.Builder
	exec, err := sb.Execute(ctx, "for i in range(3):\n    print('line', i)\n40 + 2", e2b.ExecuteOptions{
		RunOptions: sandbox.RunOptions{
			OnStdout: func(m sandbox.OutputMessage) { streamed.WriteString(m.Text) },
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print("streamed:\n", streamed.String())
	fmt.Println("result:", exec.Text())
	// Output:
	// streamed:
	// line 0
	// line 1
	// line 2
	// result: 42
}

// Infrastructure failures are typed errors; recovery.Retry reads them.
func Example_errorHandling() {
	srv := e2btest.NewServer()
	defer srv.Close()
	client, _ := e2b.NewClient(srv.ClientOptions()...)

	srv.Inject(e2btest.Fault{Kind: e2btest.RateLimit, Op: e2btest.OpCreate, RetryAfter: 3 * time.Second})
	_, err := client.CreateSandbox(context.Background(), e2b.CreateParams{})

	var rl *e2b.RateLimitError
	fmt.Println(errors.As(err, &rl), recovery.IsRetryable(err), recovery.RetryAfter(err))

	_, err = e2b.NewClient(e2b.WithAPIKey("sk-not-an-e2b-key"))
	fmt.Println(errors.Is(err, e2b.ErrAuthentication), recovery.IsRetryable(err))
	// Output:
	// true true 3s
	// true false
}
