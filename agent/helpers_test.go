package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/observability"
)

var quiet = observability.WithLogger(slog.New(slog.DiscardHandler))

// turnFunc is one scripted reply: it sees the request (and may check it)
// and answers.
type turnFunc func(t testing.TB, ctx context.Context, req llm.Request) (llm.Response, error)

// script is a model that answers with scripted replies in order and
// records the requests it gets. It stands where a chat model stands in
// production: the agent under test cannot tell the difference.
type script struct {
	t     testing.TB
	mu    sync.Mutex
	turns []turnFunc
	reqs  []llm.Request
}

func newScript(t testing.TB, turns ...turnFunc) *script {
	return &script{t: t, turns: turns}
}

func (s *script) Execute(ctx context.Context, req llm.Request) (llm.Response, error) {
	s.mu.Lock()
	i := len(s.reqs)
	// The agent's messages are read, never kept: record a copy.
	rec := req
	rec.Messages = slices.Clone(req.Messages)
	s.reqs = append(s.reqs, rec)
	s.mu.Unlock()
	if i >= len(s.turns) {
		s.t.Errorf("model called %d times; the script has %d replies", i+1, len(s.turns))
		return llm.Response{}, fmt.Errorf("script: no reply %d", i+1)
	}
	return s.turns[i](s.t, ctx, req)
}

func (s *script) requests() []llm.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// usage is what each scripted reply reports.
var usage = llm.Usage{InputTokens: 100, OutputTokens: 20}

// call builds a tool call with JSON arguments.
func call(id, name string, args any) llm.ToolCall {
	b, err := json.Marshal(args)
	if err != nil {
		panic(err)
	}
	return llm.ToolCall{ID: id, Name: name, Arguments: b}
}

// toolUse is a reply asking for calls, as a provider returns one.
func toolUse(text string, calls ...llm.ToolCall) llm.Response {
	r := llm.Response{Text: text, ToolCalls: calls, Stop: llm.StopToolUse, StopReason: "tool_use", Model: "scripted", Usage: usage}
	if text != "" {
		r.Content = append(r.Content, llm.Text{Text: text})
	}
	for _, c := range calls {
		r.Content = append(r.Content, c)
	}
	return r
}

// answer is a final reply.
func answer(text string) llm.Response {
	return llm.Response{Text: text, Content: []llm.Block{llm.Text{Text: text}}, Stop: llm.StopEndTurn, StopReason: "end_turn", Model: "scripted", Usage: usage}
}

// replies is a turn that answers r whatever the request.
func replies(r llm.Response) turnFunc {
	return func(testing.TB, context.Context, llm.Request) (llm.Response, error) { return r, nil }
}

// results returns the tool results of the request's last message, which
// must be a user message of tool results.
func results(t testing.TB, req llm.Request) []llm.ToolResult {
	t.Helper()
	last := req.Messages[len(req.Messages)-1]
	if last.Role != llm.RoleUser {
		t.Fatalf("last message is %s's; want the user's tool results", last.Role)
	}
	var out []llm.ToolResult
	for _, b := range last.Blocks {
		r, ok := b.(llm.ToolResult)
		if !ok {
			t.Fatalf("last message holds a %T; want only tool results", b)
		}
		out = append(out, r)
	}
	return out
}

// text returns the text of a tool result's blocks.
func text(blocks []llm.Block) string {
	var s string
	for _, b := range blocks {
		if t, ok := b.(llm.Text); ok {
			s += t.Text
		}
	}
	return s
}

func mustNew(t testing.TB, model *script, opts ...agent.Option) *agent.Agent {
	t.Helper()
	a, err := agent.New(model, append([]agent.Option{quiet}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// noGoroutineLeft waits until the goroutines started since before are
// gone.
func noGoroutineLeft(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left:\n%s", runtime.NumGoroutine()-before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}
