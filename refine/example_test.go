package refine_test

import (
	"context"
	"fmt"
	"log/slog"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/refine"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

// A loop on real Python. The generator here is a stand-in that writes a
// wrong program first and reads the error before its second try; in
// production it is a chat model (package refine/llmgen).
func Example() {
	quiet := observability.WithLogger(slog.New(slog.DiscardHandler))
	provider, err := local.New(quiet)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer provider.Close()
	exec := sandbox.NewCodeExecution(provider, quiet)
	defer exec.Close(context.Background())

	generator := primitives.Func[refine.Request, refine.Generation](func(_ context.Context, req refine.Request) (refine.Generation, error) {
		if len(req.History) == 0 {
			return refine.Generation{Code: "def average(xs):\n    return sum(xs) / len(xs)"}, nil
		}
		fmt.Println("fed back:", req.History[0].Reason)
		return refine.Generation{Code: "def average(xs):\n    return sum(xs) / len(xs) if xs else 0.0"}, nil
	})
	loop := refine.New(generator, exec,
		refine.Tests("assert average([1, 2, 3]) == 2\nassert average([]) == 0.0\nprint('tests passed')"),
		quiet)

	res, err := loop.Execute(context.Background(), "Write average(xs); the average of nothing is 0.0.")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("attempts: %d\n%s", res.Attempts, res.Output.Logs)
	// Output:
	// fed back: ZeroDivisionError: division by zero
	// attempts: 2
	// tests passed
}

func ExampleExtractCode() {
	reply := "Sure. First the function:\n\n```python\ndef square(x):\n    return x * x\n```\n\nThen a use of it:\n\n```python\nprint(square(7))\n```\n"
	fmt.Println(refine.ExtractCode(reply))
	// Output:
	// def square(x):
	//     return x * x
	//
	// print(square(7))
}
