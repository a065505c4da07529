package sandbox_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/sandboxtest"
)

// A pool lends warm sandboxes: three runs, one sandbox.
func ExampleNewPool() {
	// A test provider whose sandboxes echo the code in upper case.
	prov := sandboxtest.New(func(_ context.Context, _ *sandboxtest.Sandbox, code string, _ sandbox.RunOptions) (*sandbox.Execution, error) {
		return sandboxtest.Output(strings.ToUpper(code)), nil
	})
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(2))
	defer pool.Close(context.Background())

	for _, code := range []string{"a", "b", "c"} {
		exec, info, err := pool.Run(context.Background(), code, sandbox.RunOptions{})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(exec.StdoutText(), info.ID, info.Created)
	}
	fmt.Println("created:", pool.Stats().Created)
	// Output:
	// A test-1 true
	// B test-1 false
	// C test-1 false
	// created: 1
}

// Acquire pins one sandbox for several cells.
func ExamplePool_Acquire() {
	prov := sandboxtest.New(func(_ context.Context, sb *sandboxtest.Sandbox, code string, _ sandbox.RunOptions) (*sandbox.Execution, error) {
		if k, v, ok := strings.Cut(code, "="); ok {
			sb.Set(k, v)
			return &sandbox.Execution{}, nil
		}
		v, _ := sb.Get(code)
		return sandboxtest.Output(v), nil
	})
	pool := sandbox.NewPool(prov)
	defer pool.Close(context.Background())

	ctx := context.Background()
	lease, err := pool.Acquire(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lease.Release()
	_, _ = lease.Run(ctx, "x=42", sandbox.RunOptions{})
	exec, _ := lease.Run(ctx, "x", sandbox.RunOptions{})
	fmt.Println(exec.StdoutText(), exec.ExecutionCount)
	// Output: 42 2
}

// The CodeExecution primitive over a test provider: a user-code failure is
// a result, not a Go error.
func ExampleNewCodeExecution_testProvider() {
	prov := sandboxtest.New(func(_ context.Context, _ *sandboxtest.Sandbox, code string, _ sandbox.RunOptions) (*sandbox.Execution, error) {
		if code == "1/0" {
			return sandboxtest.Raise("ZeroDivisionError", "division by zero"), nil
		}
		return sandboxtest.Output("ran: " + code + "\n"), nil
	})
	exec := sandbox.NewCodeExecution(prov)
	defer exec.Close(context.Background())

	out, err := exec.Execute(context.Background(), sandbox.CodeInput{Code: "print('hi')"})
	fmt.Printf("%v %q %v\n", out.Success, out.Logs, err)
	out, err = exec.Execute(context.Background(), sandbox.CodeInput{Code: "1/0"})
	fmt.Printf("%v %q %v\n", out.Success, out.Error, err)
	// Output:
	// true "ran: print('hi')\n" <nil>
	// false "ZeroDivisionError: division by zero" <nil>
}
