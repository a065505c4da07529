package sandbox_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ttadev/primitives/performance"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

// The seed's first example, on the embedded local sandbox: no account, no
// key, no network.
func ExampleNewCodeExecution() {
	prov, err := local.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	// OwnProvider: closing the primitive closes the provider too.
	exec := sandbox.NewCodeExecution(prov, sandbox.OwnProvider(), sandbox.WithTimeout(30*time.Second))
	defer exec.Close(context.Background())

	out, err := exec.Execute(context.Background(), sandbox.CodeInput{Code: `
def factorial(n):
    return 1 if n <= 1 else n * factorial(n-1)

print(factorial(5))
`})
	if err != nil {
		fmt.Println("infrastructure failure:", err)
		return
	}
	fmt.Printf("success=%v logs=%q\n", out.Success, out.Logs)

	out, _ = exec.Execute(context.Background(), sandbox.CodeInput{Code: "print('missing quote)"})
	// out.Error is "SyntaxError: " and Python's message, which varies
	// between Python versions.
	fmt.Printf("success=%v error name=%s\n", out.Success, out.ErrorName)
	// Output:
	// success=true logs="120\n"
	// success=false error name=SyntaxError
}

// The seed's composition: retry infrastructure failures, cache results by
// code.
func ExampleCodeExecution_pipeline() {
	prov, err := local.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	exec := sandbox.NewCodeExecution(prov, sandbox.OwnProvider())
	defer exec.Close(context.Background())

	cached := performance.CacheBy(exec, func(in sandbox.CodeInput) string { return in.Code }, performance.TTL(time.Hour))
	defer cached.Close()
	pipeline := recovery.Retry(cached, recovery.MaxRetries(3), recovery.Exponential())

	for range 2 {
		out, err := pipeline.Execute(context.Background(), sandbox.CodeInput{Code: "sum(range(10))"})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(out.Text())
	}
	fmt.Println("runs:", cached.Stats().Loads, "hits:", cached.Stats().Hits)
	// Output:
	// 45
	// 45
	// runs: 1 hits: 1
}
