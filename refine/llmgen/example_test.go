package llmgen_test

import (
	"context"
	"fmt"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/refine"
	"github.com/ttadev/primitives/refine/llmgen"
	"github.com/ttadev/primitives/sandbox"
)

// The conversation sent for a second attempt: the requirement, the first
// attempt's code as the model's message, and its failure as the answer.
func ExampleGenerator_Request() {
	// Request only builds the request; in a program the model is a
	// provider such as llm.NewOpenAI() or llm.NewAnthropic().
	unused := primitives.Func[llm.Request, llm.Response](func(context.Context, llm.Request) (llm.Response, error) {
		return llm.Response{}, nil
	})
	g := llmgen.New(unused)
	req := g.Request(refine.Request{
		Requirement: "Print the mean of an empty list as 0.0.",
		Attempt:     2,
		History: []refine.Attempt{{
			Number: 1,
			Code:   "xs = []\nprint(sum(xs) / len(xs))",
			Reason: "ZeroDivisionError: division by zero",
			Output: sandbox.CodeOutput{
				ErrorName: "ZeroDivisionError", ErrorValue: "division by zero",
				Traceback: "Traceback (most recent call last):\n  File \"<cell-1>\", line 2, in <module>\nZeroDivisionError: division by zero\n",
			},
		}},
	})
	for _, m := range req.Messages {
		fmt.Printf("[%s]\n%s\n", m.Role, m.Content)
	}
	// Output:
	// [user]
	// Print the mean of an empty list as 0.0.
	// [assistant]
	// ```python
	// xs = []
	// print(sum(xs) / len(xs))
	// ```
	// [user]
	// Attempt 1 failed: ZeroDivisionError: division by zero
	//
	// Traceback:
	// Traceback (most recent call last):
	//   File "<cell-1>", line 2, in <module>
	// ZeroDivisionError: division by zero
	//
	// Reply with the whole corrected program in one ```python block.
}
