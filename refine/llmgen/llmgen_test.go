package llmgen_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/refine"
	"github.com/ttadev/primitives/refine/llmgen"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

// chat answers with fixed replies in order and records the requests. It
// stands for the chat model, the input of the generator under test.
type chat struct {
	mu      sync.Mutex
	replies []string
	reqs    []llm.Request
}

func (c *chat) Execute(_ context.Context, req llm.Request) (llm.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := len(c.reqs)
	c.reqs = append(c.reqs, req)
	return llm.Response{Text: c.replies[min(i, len(c.replies)-1)], Usage: llm.Usage{InputTokens: 100 * int64(i+1), OutputTokens: 30, CacheReadInputTokens: 7}}, nil
}

func TestConversationCarriesEachFailure(t *testing.T) {
	quiet := observability.WithLogger(slog.New(slog.DiscardHandler))
	p, err := local.New(quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	exec := sandbox.NewCodeExecution(p, quiet)
	defer exec.Close(context.Background())

	model := &chat{replies: []string{
		"Here:\n```python\ndef double(x):\n    return x * 3\n```",
		"Install this first:\n```bash\npip install doubler\n```",
		"Fixed:\n```python\ndef double(x):\n    return x * 2\n```\nDone.",
	}}
	tests := "assert double(4) == 8, double(4)\nprint('ok')"
	loop := refine.New(llmgen.New(model, llmgen.Model("m-1"), llmgen.MaxTokens(1000)), exec,
		refine.Tests(tests), refine.TokenBudget(2000), quiet)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := loop.Execute(ctx, "Write double(x).")
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 || res.Code != "def double(x):\n    return x * 2" || res.Output.Logs != "ok\n" {
		t.Fatalf("%+v", res)
	}
	if want := (refine.Usage{InputTokens: 600, OutputTokens: 90, CacheReadInputTokens: 21}); res.Usage != want {
		t.Fatalf("usage %+v", res.Usage)
	}

	reqs := model.reqs
	first := reqs[0]
	if first.System != llmgen.DefaultSystem || first.Model != "m-1" || first.MaxTokens != 1000 || len(first.Messages) != 1 ||
		!strings.Contains(first.Messages[0].Content, "Write double(x).") || !strings.Contains(first.Messages[0].Content, "```python\n"+tests+"\n```") {
		t.Fatalf("first request %+v", first)
	}
	second := reqs[1].Messages
	if len(second) != 3 || second[1].Role != llm.RoleAssistant || second[1].Content != "```python\ndef double(x):\n    return x * 3\n```" {
		t.Fatalf("second request %+v", second)
	}
	for _, want := range []string{"Attempt 1 failed: AssertionError: 12", "Traceback (most recent call last)", "AssertionError: 12"} {
		if !strings.Contains(second[2].Content, want) {
			t.Errorf("second prompt lacks %q:\n%s", want, second[2].Content)
		}
	}
	// Attempt 2 had no code: its feedback joins the user's message.
	third := reqs[2].Messages
	if len(third) != 3 || third[2].Role != llm.RoleUser || !strings.Contains(third[2].Content, "Attempt 1 failed") ||
		!strings.Contains(third[2].Content, "Attempt 2 failed: the reply contained no Python code") {
		t.Fatalf("third request %+v", third)
	}
	for i, m := range third {
		if want := []llm.Role{llm.RoleUser, llm.RoleAssistant, llm.RoleUser}[i]; m.Role != want {
			t.Fatalf("message %d role %s", i, m.Role)
		}
	}
	// 2000 - (130 + 230) = 1640 tokens are left, more than MaxTokens(1000).
	if reqs[2].MaxTokens != 1000 {
		t.Fatalf("max tokens %d", reqs[2].MaxTokens)
	}
}

func TestMaxTokensCappedByBudget(t *testing.T) {
	g := llmgen.New(&chat{replies: []string{"x"}})
	if r := g.Request(refine.Request{Requirement: "x", Attempt: 2, TokensLeft: 250}); r.MaxTokens != 250 {
		t.Fatalf("max tokens %d", r.MaxTokens)
	}
	if r := g.Request(refine.Request{Requirement: "x"}); r.MaxTokens != llmgen.DefaultMaxTokens || r.Model != "" {
		t.Fatalf("%+v", r)
	}
}

func TestModelErrorReturnedAsIs(t *testing.T) {
	refused := &llm.APIError{Status: 429}
	model := primitives.Func[llm.Request, llm.Response](func(context.Context, llm.Request) (llm.Response, error) {
		return llm.Response{}, refused
	})
	if _, err := llmgen.New(model).Execute(context.Background(), refine.Request{Requirement: "x", Attempt: 1}); err != refused {
		t.Fatalf("err %v", err)
	}
}

func TestConstructionPanics(t *testing.T) {
	for _, f := range []func(){
		func() { llmgen.New(nil) },
		func() { llmgen.New(&chat{}, nil) },
		func() { llmgen.MaxTokens(0) },
		func() { llmgen.OnDelta(nil) },
	} {
		func() {
			defer func() {
				if r, _ := recover().(string); !strings.HasPrefix(r, "llmgen: ") {
					t.Errorf("panic %q", r)
				}
			}()
			f()
		}()
	}
}

func TestOnDelta(t *testing.T) {
	model := primitives.Func[llm.Request, llm.Response](func(_ context.Context, req llm.Request) (llm.Response, error) {
		if req.OnDelta == nil {
			return llm.Response{}, errors.New("not streaming")
		}
		for _, d := range []string{"```python\n", "print(1)\n", "```"} {
			req.OnDelta(d)
		}
		return llm.Response{Text: "```python\nprint(1)\n```"}, nil
	})
	var got []string
	g := llmgen.New(model, llmgen.OnDelta(func(attempt int, delta string) { got = append(got, fmt.Sprint(attempt, ":", delta)) }))
	gen, err := g.Execute(context.Background(), refine.Request{Requirement: "x", Attempt: 3})
	if err != nil || gen.Code != "print(1)" {
		t.Fatalf("%+v %v", gen, err)
	}
	if strings.Join(got, "|") != "3:```python\n|3:print(1)\n|3:```" {
		t.Fatalf("deltas %q", got)
	}
}

// llm.Usage and refine.Usage are one type (tokens.Usage): a provider's
// usage is a generation's as it is, without conversion.
var _ = func(u llm.Usage) refine.Usage { return u }
