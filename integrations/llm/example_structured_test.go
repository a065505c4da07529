package llm_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/ttadev/primitives/integrations/llm"
)

// Verdict is what a review step returns.
type Verdict struct {
	Correct bool     `json:"correct" jsonschema:"whether the code does what was asked"`
	Issues  []string `json:"issues" jsonschema:"what is wrong, one issue per item"`
}

// A typed step: the reply is checked against Verdict's schema and decoded.
func ExampleStructured() {
	// A Chat Completions server whose model answers with the JSON.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-2","object":"chat.completion","created":1764552000,"model":"qwen2.5-coder:7b","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":80,"completion_tokens":20,"total_tokens":100}}`,
			`{"correct": false, "issues": ["x is never defined"]}`)
	}))
	defer srv.Close()
	provider, err := llm.NewOpenAI(llm.WithBaseURL(srv.URL+"/v1/"), llm.WithModel("qwen2.5-coder:7b"))
	if err != nil {
		fmt.Println(err)
		return
	}

	review := llm.Structured[string, Verdict](provider, func(code string) llm.Request {
		return llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Review this code:\n" + code}}}
	})
	v, err := review.Execute(context.Background(), "print(x)")
	if errors.Is(err, llm.ErrStructuredOutput) {
		fmt.Println("the model did not follow the schema:", err)
		return
	} else if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Correct, v.Issues)
	// Output:
	// false [x is never defined]
}
