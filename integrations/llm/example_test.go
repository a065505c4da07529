package llm_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ttadev/primitives"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/recovery"
)

// localServer stands in for an OpenAI-compatible server such as Ollama
// (http://localhost:11434/v1/): it speaks the Chat Completions wire format.
func localServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		reply := "print(\"hello\")"
		if strings.Contains(string(body), "reverse") {
			reply = "print(\"olleh\")"
		}
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1764552000,"model":"qwen2.5-coder:7b","system_fingerprint":"fp_ollama","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":6,"total_tokens":36}}`, reply)
	}))
}

// An OpenAI-compatible local server, wrapped in recovery.Retry (the
// provider itself never retries).
func ExampleNewOpenAI() {
	srv := localServer()
	defer srv.Close()

	provider, err := llm.NewOpenAI(llm.WithBaseURL(srv.URL+"/v1/"), llm.WithModel("qwen2.5-coder:7b"))
	if err != nil {
		fmt.Println(err)
		return
	}
	model := recovery.Retry[llm.Request, llm.Response](provider, recovery.MaxRetries(3))
	resp, err := model.Execute(context.Background(), llm.Request{
		System:   "Reply with Python code only.",
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "Print hello."}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text)
	fmt.Println(resp.StopReason, resp.Usage.InputTokens, resp.Usage.OutputTokens)
	// A provider prints its settings, never a key.
	fmt.Println(strings.Replace(fmt.Sprint(provider), srv.URL, "<server>", 1))
	// Output:
	// print("hello")
	// stop 30 6
	// llm.OpenAI{model: qwen2.5-coder:7b, base_url: <server>/v1/, api_key: none}
}

// Prompt makes a model one step of a typed pipeline.
func ExamplePrompt() {
	srv := localServer()
	defer srv.Close()
	provider, err := llm.NewOpenAI(llm.WithBaseURL(srv.URL+"/v1/"), llm.WithModel("qwen2.5-coder:7b"))
	if err != nil {
		fmt.Println(err)
		return
	}
	write := llm.Prompt(provider, func(task string) llm.Request {
		return llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: task}}}
	})
	length := primitives.Lift(func(code string) int { return len(code) })
	n, err := primitives.Then(write, length).Execute(context.Background(), "Print hello reversed.")
	fmt.Println(n, err)
	// Output:
	// 14 <nil>
}

// PromptTemplate writes the user message from the step's input.
func ExamplePromptTemplate() {
	srv := localServer()
	defer srv.Close()
	provider, err := llm.NewOpenAI(llm.WithBaseURL(srv.URL+"/v1/"), llm.WithModel("qwen2.5-coder:7b"))
	if err != nil {
		fmt.Println(err)
		return
	}
	type task struct{ Word string }
	write := llm.PromptTemplate[task](provider, llm.Request{System: "Python only."},
		"Print {{.Word}} reversed.")
	code, err := write.Execute(context.Background(), task{Word: "hello"})
	fmt.Println(code, err)
	// Output:
	// print("olleh") <nil>
}

// The Anthropic provider refuses a temperature before sending anything:
// the API version its SDK speaks rejects it.
func ExampleNewAnthropic_temperature() {
	provider, err := llm.NewAnthropic(llm.WithAPIKey("sk-ant-example"), llm.WithModel("claude-sonnet-4-5"),
		llm.WithBaseURL("http://127.0.0.1:1/"))
	if err != nil {
		fmt.Println(err)
		return
	}
	t := 0.2
	_, err = provider.Execute(context.Background(), llm.Request{
		Messages:    []llm.Message{{Role: llm.RoleUser, Content: "hi"}},
		Temperature: &t,
	})
	fmt.Println(errors.Is(err, llm.ErrTemperatureUnsupported), recovery.IsRetryable(err))
	// Output:
	// true false
}

// Errors say whether retrying may help, and after how long.
func ExampleAPIError() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(529)
		io.WriteString(w, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
	}))
	defer srv.Close()
	provider, _ := llm.NewAnthropic(llm.WithAPIKey("sk-ant-example"), llm.WithModel("claude-sonnet-4-5"), llm.WithBaseURL(srv.URL))
	_, err := provider.Execute(context.Background(), llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}})
	fmt.Println(err)
	fmt.Println(errors.Is(err, llm.ErrOverloaded), recovery.IsRetryable(err), recovery.RetryAfter(err) == 2*time.Second)
	// Output:
	// llm: anthropic: status 529 overloaded_error: Overloaded (retry after 2s)
	// true true true
}
