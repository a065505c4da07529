package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/recovery"
)

type weatherIn struct {
	City string `json:"city" jsonschema:"the city"`
	Days int    `json:"days,omitempty" jsonschema:"days ahead"`
}

type forecast struct {
	City  string  `json:"city"`
	TempC float64 `json:"temp_c"`
}

func weatherTool(calls *atomic.Int32) agent.Tool {
	return agent.NewTool("weather", "The forecast for a city.", func(_ context.Context, in weatherIn) (forecast, error) {
		calls.Add(1)
		if in.City == "Atlantis" {
			return forecast{}, fmt.Errorf("no forecast for %s", in.City)
		}
		return forecast{City: in.City, TempC: 21.5 + float64(in.Days)}, nil
	})
}

type addIn struct {
	A int `json:"a"`
	B int `json:"b"`
}

var addTool = agent.NewTool("add", "Adds two integers.", func(_ context.Context, in addIn) (string, error) {
	return fmt.Sprint(in.A + in.B), nil
})

// The loop end to end: the model calls two tools, gets their results with
// the matching IDs in the next request, and answers.
func TestToolCallsThenAnswer(t *testing.T) {
	var weatherCalls atomic.Int32
	model := newScript(t,
		func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
			if req.System != "You answer briefly." || req.Model != "m-1" || req.MaxTokens != 300 {
				t.Errorf("request: system %q model %q max tokens %d", req.System, req.Model, req.MaxTokens)
			}
			if len(req.Tools) != 2 || req.Tools[0].Name != "weather" || req.Tools[1].Name != "add" {
				t.Errorf("tools %+v", req.Tools)
			}
			var schema map[string]any
			if err := json.Unmarshal(req.Tools[0].InputSchema, &schema); err != nil || schema["type"] != "object" {
				t.Errorf("weather schema %s (%v)", req.Tools[0].InputSchema, err)
			}
			if len(req.Messages) != 1 || req.Messages[0].Content != "Weather in Lisbon, and 2+3?" {
				t.Errorf("messages %+v", req.Messages)
			}
			return toolUse("Let me look.", call("call_w", "weather", weatherIn{City: "Lisbon", Days: 1}), call("call_a", "add", addIn{2, 3})), nil
		},
		func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
			rs := results(t, req)
			if len(rs) != 2 || rs[0].CallID != "call_w" || rs[1].CallID != "call_a" {
				t.Fatalf("results %+v; want call_w then call_a", rs)
			}
			if rs[0].IsError || text(rs[0].Content) != `{"city":"Lisbon","temp_c":22.5}` {
				t.Errorf("weather result %+v", rs[0])
			}
			if rs[1].IsError || text(rs[1].Content) != "5" {
				t.Errorf("add result %+v", rs[1])
			}
			// The assistant's tool calls precede their results.
			prev := req.Messages[len(req.Messages)-2]
			if prev.Role != llm.RoleAssistant || len(prev.Blocks) != 3 {
				t.Errorf("assistant message %+v", prev)
			}
			return answer("22.5 °C in Lisbon tomorrow; 2+3 = 5."), nil
		})
	a := mustNew(t, model, agent.Tools(weatherTool(&weatherCalls), addTool), agent.System("You answer briefly."),
		agent.Model("m-1"), agent.MaxTokens(300))
	res, err := a.Execute(ctxT(t), agent.Task("Weather in Lisbon, and 2+3?"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "22.5 °C in Lisbon tomorrow; 2+3 = 5." || res.Turns != 2 || res.Stop != agent.StopEndTurn {
		t.Fatalf("result %q after %d turns, stop %s", res.Text, res.Turns, res.Stop)
	}
	if want := usage.Add(usage); res.Usage != want {
		t.Fatalf("usage %+v; want %+v", res.Usage, want)
	}
	if len(res.Calls) != 2 || res.Calls[0].Name != "weather" || res.Calls[0].ID != "call_w" || res.Calls[0].Turn != 1 ||
		res.Calls[1].Name != "add" || res.Calls[0].Err != nil || res.Calls[0].IsError || res.Calls[0].Duration <= 0 {
		t.Fatalf("calls %+v", res.Calls)
	}
	if text(res.Calls[1].Content) != "5" || string(res.Calls[1].Arguments) != `{"a":2,"b":3}` {
		t.Fatalf("add call %+v", res.Calls[1])
	}
	roles := []llm.Role{}
	for _, m := range res.Messages {
		roles = append(roles, m.Role)
	}
	if fmt.Sprint(roles) != "[user assistant user assistant]" {
		t.Fatalf("transcript roles %v", roles)
	}
	if weatherCalls.Load() != 1 {
		t.Fatalf("weather ran %d times", weatherCalls.Load())
	}
}

// A conversation continues from an earlier Result's messages.
func TestContinueConversation(t *testing.T) {
	first := newScript(t, replies(toolUse("", call("c1", "add", addIn{1, 1}))), replies(answer("2")))
	a := mustNew(t, first, agent.Tools(addTool))
	res, err := a.Execute(ctxT(t), agent.Task("1+1?"))
	if err != nil {
		t.Fatal(err)
	}
	second := newScript(t, func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
		if len(req.Messages) != 5 || req.Messages[4].Content != "And doubled?" || req.Messages[3].Blocks[0].(llm.Text).Text != "2" {
			t.Errorf("messages %+v", req.Messages)
		}
		return answer("4"), nil
	})
	b := mustNew(t, second, agent.Tools(addTool))
	kept := len(res.Messages)
	res2, err := b.Execute(ctxT(t), agent.Input{Messages: res.Messages, Task: "And doubled?"})
	if err != nil || res2.Text != "4" || len(res2.Messages) != 6 {
		t.Fatalf("%+v, %v", res2, err)
	}
	if len(res.Messages) != kept {
		t.Fatal("the input's messages were modified")
	}
}

// An input with images sends them with the task.
func TestTaskWithImages(t *testing.T) {
	img := llm.Image{MediaType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n...")}
	model := newScript(t, func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
		m := req.Messages[0]
		if m.Content != "What is this?" || len(m.Blocks) != 1 || m.Blocks[0].(llm.Image).MediaType != "image/png" {
			t.Errorf("message %+v", m)
		}
		return answer("a PNG"), nil
	})
	if _, err := mustNew(t, model).Execute(ctxT(t), agent.Task("What is this?", img)); err != nil {
		t.Fatal(err)
	}
	if _, err := mustNew(t, newScript(t)).Execute(ctxT(t), agent.Input{}); !errors.As(err, new(*recovery.InvalidInputError)) {
		t.Fatalf("empty input: %v", err)
	}
}

// barrierTool blocks each call until n calls are inside it at once: the
// calls of one reply can only all return if they overlap.
func barrierTool(n int, inside *atomic.Int32) agent.Tool {
	var mu sync.Mutex
	all := make(chan struct{})
	return agent.NewTool("meet", "Waits for the others.", func(ctx context.Context, _ struct{}) (string, error) {
		mu.Lock()
		if inside.Add(1) == int32(n) {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			return "met", nil
		case <-time.After(10 * time.Second):
			return "", &agent.ToolError{Message: "the others never came"}
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
}

// The calls of one reply run concurrently: three calls meet inside the
// tool at the same time.
func TestCallsOfOneReplyOverlap(t *testing.T) {
	var inside atomic.Int32
	model := newScript(t,
		replies(toolUse("", call("1", "meet", struct{}{}), call("2", "meet", struct{}{}), call("3", "meet", struct{}{}))),
		func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
			for _, r := range results(t, req) {
				if r.IsError || text(r.Content) != "met" {
					t.Errorf("result %+v", r)
				}
			}
			return answer("all met"), nil
		})
	a := mustNew(t, model, agent.Tools(barrierTool(3, &inside)), agent.ToolConcurrency(3))
	if _, err := a.Execute(ctxT(t), agent.Task("meet")); err != nil {
		t.Fatal(err)
	}
}

// ToolConcurrency bounds the calls running at once.
func TestToolConcurrencyBound(t *testing.T) {
	var active, peak atomic.Int32
	slow := agent.NewTool("slow", "Takes a while.", func(context.Context, struct{}) (string, error) {
		n := active.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		active.Add(-1)
		return "ok", nil
	})
	var calls []llm.ToolCall
	for i := range 6 {
		calls = append(calls, call(fmt.Sprint(i), "slow", struct{}{}))
	}
	model := newScript(t, replies(toolUse("", calls...)), replies(answer("done")))
	if _, err := mustNew(t, model, agent.Tools(slow), agent.ToolConcurrency(2)).Execute(ctxT(t), agent.Task("go")); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p != 2 {
		t.Fatalf("%d calls ran at once; want the bound, 2", p)
	}
}

// orderTool is a Serial tool that records the order of its calls and
// whether two ever overlapped.
type orderTool struct {
	name    string
	key     any
	mu      sync.Mutex
	order   []string
	active  atomic.Int32
	overlap atomic.Bool
}

func (o *orderTool) Definition() llm.Tool { return llm.Tool{Name: o.name} }
func (o *orderTool) SerialKey() any       { return o.key }
func (o *orderTool) Call(_ context.Context, args json.RawMessage) ([]llm.Block, error) {
	if o.active.Add(1) > 1 {
		o.overlap.Store(true)
	}
	time.Sleep(2 * time.Millisecond)
	o.mu.Lock()
	o.order = append(o.order, string(args))
	o.mu.Unlock()
	o.active.Add(-1)
	return []llm.Block{llm.Text{Text: "ok"}}, nil
}

// The calls of Serial tools sharing a key run one at a time, in the
// model's order, even across tools.
func TestSerialToolsRunInOrder(t *testing.T) {
	key := new(int)
	shared := &orderTool{name: "first", key: key}
	other := &orderTool{name: "second", key: key}
	var calls []llm.ToolCall
	for i := range 8 {
		name := "first"
		if i%3 == 2 {
			name = "second"
		}
		calls = append(calls, llm.ToolCall{ID: fmt.Sprint(i), Name: name, Arguments: json.RawMessage(fmt.Sprint(i))})
	}
	model := newScript(t, replies(toolUse("", calls...)), replies(answer("done")))
	if _, err := mustNew(t, model, agent.Tools(shared, other), agent.ToolConcurrency(8)).Execute(ctxT(t), agent.Task("go")); err != nil {
		t.Fatal(err)
	}
	if shared.overlap.Load() || other.overlap.Load() {
		t.Fatal("calls of one serial key overlapped")
	}
	if got := fmt.Sprint(shared.order, other.order); got != "[0 1 3 4 6 7] [2 5]" {
		t.Fatalf("order %s", got)
	}
}

// loopForever is a model that always asks for one more call.
func loopForever(n int) *script {
	s := &script{}
	for i := range n {
		s.turns = append(s.turns, replies(toolUse("", call(fmt.Sprint("c", i), "add", addIn{i, 1}))))
	}
	return s
}

func TestMaxTurns(t *testing.T) {
	model := loopForever(3)
	model.t = t
	a := mustNew(t, model, agent.Tools(addTool), agent.MaxTurns(3))
	_, err := a.Execute(ctxT(t), agent.Task("count"))
	var le *agent.LimitError
	if !errors.As(err, &le) || le.Limit != agent.StopMaxTurns || !errors.Is(err, agent.ErrLimit) || recovery.IsRetryable(err) {
		t.Fatalf("got %v; want a not retryable *LimitError for the turns", err)
	}
	res := le.Result
	// Turns 1 and 2 ran their call; turn 3's would be read by nobody.
	if res.Turns != 3 || len(res.Calls) != 2 || res.Stop != agent.StopMaxTurns || res.Usage.Total() != 3*usage.Total() {
		t.Fatalf("result: %d turns, %d calls, stop %s, usage %+v", res.Turns, len(res.Calls), res.Stop, res.Usage)
	}
	last := res.Messages[len(res.Messages)-1]
	r := last.Blocks[0].(llm.ToolResult)
	if r.CallID != "c2" || !r.IsError || !strings.Contains(text(r.Content), "turn limit") {
		t.Fatalf("the unrun call is answered with %+v", r)
	}
	if !strings.Contains(err.Error(), "turn limit reached after 3 turns and 2 tool calls") {
		t.Fatalf("message %q", err)
	}
}

// A final answer at the last turn is a success.
func TestAnswerAtLastTurn(t *testing.T) {
	model := newScript(t, replies(toolUse("", call("c", "add", addIn{1, 2}))), replies(answer("3")))
	res, err := mustNew(t, model, agent.Tools(addTool), agent.MaxTurns(2)).Execute(ctxT(t), agent.Task("1+2"))
	if err != nil || res.Text != "3" {
		t.Fatalf("%+v, %v", res, err)
	}
}

func TestTokenBudget(t *testing.T) {
	model := loopForever(2)
	model.t = t
	// 120 tokens per reply: the second reaches 200.
	a := mustNew(t, model, agent.Tools(addTool), agent.TokenBudget(200))
	_, err := a.Execute(ctxT(t), agent.Task("count"))
	var le *agent.LimitError
	if !errors.As(err, &le) || le.Limit != agent.StopTokenBudget {
		t.Fatalf("got %v; want the token budget", err)
	}
	if le.Result.Turns != 2 || len(le.Result.Calls) != 1 || le.Result.Usage.Total() != 240 {
		t.Fatalf("result %+v", le.Result)
	}
	if !strings.Contains(err.Error(), "token budget spent (240 tokens)") {
		t.Fatalf("message %q", err)
	}
}

// The time budget cancels the tool running when it passes.
func TestTimeBudgetDuringTool(t *testing.T) {
	var sawCause atomic.Value
	block := agent.NewTool("block", "Blocks.", func(ctx context.Context, _ struct{}) (string, error) {
		<-ctx.Done()
		sawCause.Store(context.Cause(ctx))
		return "", ctx.Err()
	})
	model := newScript(t, replies(toolUse("", call("b", "block", struct{}{}))))
	a := mustNew(t, model, agent.Tools(block), agent.TimeBudget(50*time.Millisecond))
	start := time.Now()
	_, err := a.Execute(ctxT(t), agent.Task("block"))
	var le *agent.LimitError
	if !errors.As(err, &le) || le.Limit != agent.StopTimeBudget {
		t.Fatalf("got %v; want the time budget", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("returned after %s", d)
	}
	if sawCause.Load() == nil {
		t.Fatal("the tool's context did not end")
	}
	if c := le.Result.Calls; len(c) != 1 || c[0].Err == nil || !errors.Is(c[0].Err, context.DeadlineExceeded) {
		t.Fatalf("calls %+v", c)
	}
}

// The time budget cancels the model's call too.
func TestTimeBudgetDuringModelCall(t *testing.T) {
	model := newScript(t, func(_ testing.TB, ctx context.Context, _ llm.Request) (llm.Response, error) {
		<-ctx.Done()
		return llm.Response{}, &llm.ConnectionError{Provider: "scripted", Err: ctx.Err()}
	})
	_, err := mustNew(t, model, agent.TimeBudget(30*time.Millisecond)).Execute(ctxT(t), agent.Task("think"))
	var le *agent.LimitError
	if !errors.As(err, &le) || le.Limit != agent.StopTimeBudget || le.Result.Turns != 1 {
		t.Fatalf("got %v; want the time budget after one turn", err)
	}
}

func TestMaxToolCallsPerTurn(t *testing.T) {
	var ran atomic.Int32
	model := newScript(t, func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
		if req.NoParallelToolCalls {
			t.Error("NoParallelToolCalls set with a bound of 2")
		}
		return toolUse("", call("1", "weather", weatherIn{City: "A"}), call("2", "weather", weatherIn{City: "B"}), call("3", "weather", weatherIn{City: "C"})), nil
	})
	_, err := mustNew(t, model, agent.Tools(weatherTool(&ran)), agent.MaxToolCallsPerTurn(2)).Execute(ctxT(t), agent.Task("go"))
	var le *agent.LimitError
	if !errors.As(err, &le) || le.Limit != agent.StopMaxToolCalls || ran.Load() != 0 || len(le.Result.Calls) != 0 {
		t.Fatalf("got %v after %d calls; want the per-turn bound with nothing run", err, ran.Load())
	}
	if last := le.Result.Messages[len(le.Result.Messages)-1]; len(last.Blocks) != 3 {
		t.Fatalf("%d calls answered; want 3", len(last.Blocks))
	}

	one := newScript(t, func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
		if !req.NoParallelToolCalls {
			t.Error("a bound of 1 must ask the model for one call per reply")
		}
		return answer("ok"), nil
	})
	if _, err := mustNew(t, one, agent.MaxToolCallsPerTurn(1)).Execute(ctxT(t), agent.Task("go")); err != nil {
		t.Fatal(err)
	}
}

// The approval hook sees each call in order and may refuse it; the model
// reads the refusal and the run goes on.
func TestApprovalRefusal(t *testing.T) {
	var seen []string
	var ran atomic.Int32
	hook := func(_ context.Context, c llm.ToolCall) error {
		seen = append(seen, c.ID)
		if strings.Contains(string(c.Arguments), "Atlantis") {
			return errors.New("Atlantis is off limits")
		}
		return nil
	}
	model := newScript(t,
		replies(toolUse("", call("ok", "weather", weatherIn{City: "Porto"}), call("no", "weather", weatherIn{City: "Atlantis"}))),
		func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
			rs := results(t, req)
			if rs[0].IsError || !rs[1].IsError || text(rs[1].Content) != "the call was refused: Atlantis is off limits" {
				t.Errorf("results %+v", rs)
			}
			return answer("Porto only"), nil
		})
	res, err := mustNew(t, model, agent.Tools(weatherTool(&ran)), agent.Approve(hook)).Execute(ctxT(t), agent.Task("go"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != "[ok no]" || ran.Load() != 1 {
		t.Fatalf("hook saw %v; tool ran %d times", seen, ran.Load())
	}
	denied := res.Calls[1]
	if !errors.Is(denied.Err, agent.ErrDenied) || !denied.IsError || denied.Duration != 0 {
		t.Fatalf("denied call %+v", denied)
	}
}

// A tool's own failure, bad arguments and an unknown tool go to the model;
// the run goes on.
func TestToolErrorsGoToTheModel(t *testing.T) {
	var ran atomic.Int32
	model := newScript(t,
		replies(toolUse("",
			call("own", "weather", weatherIn{City: "Atlantis"}),
			llm.ToolCall{ID: "bad", Name: "weather", Arguments: json.RawMessage(`{"city": 7}`)},
			llm.ToolCall{ID: "extra", Name: "weather", Arguments: json.RawMessage(`{"city": "Faro", "hours": 3}`)},
			llm.ToolCall{ID: "notjson", Name: "weather", Arguments: json.RawMessage(`{"city": `)},
			call("unknown", "teleport", map[string]string{"to": "Mars"}))),
		func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
			rs := results(t, req)
			want := []string{
				"no forecast for Atlantis",
				`the arguments do not follow the tool's schema: validating root: validating /properties/city: type: 7 has type "integer", want "string"`,
				"the arguments do not follow the tool's schema",
				"the arguments are not valid JSON",
				`there is no tool named "teleport"; the tools are: weather`,
			}
			for i, r := range rs {
				if !r.IsError || !strings.Contains(text(r.Content), want[i]) {
					t.Errorf("result %d: %+v; want an error result with %q", i, r, want[i])
				}
			}
			return answer("sorry"), nil
		})
	res, err := mustNew(t, model, agent.Tools(weatherTool(&ran))).Execute(ctxT(t), agent.Task("go"))
	if err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 1 {
		t.Fatalf("the function ran %d times; only the valid call may run it", ran.Load())
	}
	var te *agent.ToolError
	if !errors.As(res.Calls[0].Err, &te) || te.Err == nil || te.Err.Error() != "no forecast for Atlantis" {
		t.Fatalf("call 0 error %#v", res.Calls[0].Err)
	}
	if !errors.Is(res.Calls[4].Err, agent.ErrUnknownTool) {
		t.Fatalf("call 4 error %v", res.Calls[4].Err)
	}
}

// A failure of a tool's infrastructure ends the run, cancels the other
// calls of the turn, and keeps its retry verdict.
func TestInfrastructureFailureEndsTheRun(t *testing.T) {
	outage := errors.New("upstream 503")
	started := make(chan struct{})
	flaky := agent.NewTool("flaky", "Fails.", func(context.Context, struct{}) (string, error) {
		<-started // the other call is running
		return "", recovery.Transient(outage, 2*time.Second)
	})
	var sawCause atomic.Value
	block := agent.NewTool("block", "Blocks.", func(ctx context.Context, _ struct{}) (string, error) {
		close(started)
		<-ctx.Done()
		sawCause.Store(context.Cause(ctx))
		return "", ctx.Err()
	})
	model := newScript(t, replies(toolUse("", call("b", "block", struct{}{}), call("f", "flaky", struct{}{}))))
	_, err := mustNew(t, model, agent.Tools(flaky, block)).Execute(ctxT(t), agent.Task("go"))
	var re *agent.RunError
	if !errors.As(err, &re) || re.Tool != "flaky" || re.CallID != "f" || re.Turn != 1 || !errors.Is(err, outage) {
		t.Fatalf("got %v; want a *RunError of the flaky call", err)
	}
	if !recovery.IsRetryable(err) || recovery.RetryAfter(err) != 2*time.Second {
		t.Fatalf("retryable %v after %s; the tool's verdict must survive", recovery.IsRetryable(err), recovery.RetryAfter(err))
	}
	if c, _ := sawCause.Load().(error); !errors.Is(c, outage) {
		t.Fatalf("the other call was cancelled with %v; want the failure as the cause", c)
	}
	// The transcript answers both calls, so it is a valid conversation.
	last := re.Result.Messages[len(re.Result.Messages)-1]
	if len(last.Blocks) != 2 || !last.Blocks[0].(llm.ToolResult).IsError {
		t.Fatalf("last message %+v", last)
	}
}

// A tool returning a block that is not text or an image is a bug of the
// tool's: the run ends.
func TestForeignBlockEndsTheRun(t *testing.T) {
	bad := agent.NewTool("bad", "Returns a tool call.", func(context.Context, struct{}) ([]llm.Block, error) {
		return []llm.Block{llm.ToolCall{ID: "x"}}, nil
	})
	model := newScript(t, replies(toolUse("", call("b", "bad", struct{}{}))))
	_, err := mustNew(t, model, agent.Tools(bad)).Execute(ctxT(t), agent.Task("go"))
	if err == nil || !strings.Contains(err.Error(), "returned a llm.ToolCall block") {
		t.Fatalf("got %v", err)
	}
}

// A tool's panic comes back as a *primitives.PanicError; the model's
// panic reaches the caller with its own value.
func TestPanics(t *testing.T) {
	boom := agent.NewTool("boom", "Panics.", func(context.Context, struct{}) (string, error) { panic("tool bug") })
	model := newScript(t, replies(toolUse("", call("p", "boom", struct{}{}))))
	_, err := mustNew(t, model, agent.Tools(boom)).Execute(ctxT(t), agent.Task("go"))
	var pe *primitives.PanicError
	if !errors.As(err, &pe) || pe.Value != "tool bug" || len(pe.Stack) == 0 || recovery.IsRetryable(err) {
		t.Fatalf("got %v; want a not retryable *PanicError", err)
	}

	crashing := newScript(t, func(testing.TB, context.Context, llm.Request) (llm.Response, error) { panic("model bug") })
	a := mustNew(t, crashing)
	defer func() {
		if p := recover(); p != "model bug" {
			t.Fatalf("recovered %v; want the model's panic", p)
		}
	}()
	_, _ = a.Execute(ctxT(t), agent.Task("go"))
}

// Cancelling the caller's context mid-tool ends the run with the cause,
// and leaves no goroutine behind.
func TestCancelMidTool(t *testing.T) {
	before := runtime.NumGoroutine()
	started := make(chan struct{})
	block := agent.NewTool("block", "Blocks.", func(ctx context.Context, _ struct{}) (string, error) {
		close(started)
		<-ctx.Done()
		return "", ctx.Err()
	})
	model := newScript(t, replies(toolUse("", call("b", "block", struct{}{}))))
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("user pressed stop")
	go func() { <-started; cancel(stop) }()
	_, err := mustNew(t, model, agent.Tools(block)).Execute(ctx, agent.Task("go"))
	var re *agent.RunError
	if !errors.As(err, &re) || !errors.Is(err, stop) || re.Tool != "" {
		t.Fatalf("got %v; want a *RunError with the caller's cause", err)
	}
	if len(re.Result.Calls) != 1 {
		t.Fatalf("calls %+v", re.Result.Calls)
	}
	noGoroutineLeft(t, before)
}

// A done context returns its cause before the model is called.
func TestDoneContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	model := newScript(t)
	if _, err := mustNew(t, model).Execute(ctx, agent.Task("go")); err != context.Canceled || len(model.requests()) != 0 {
		t.Fatalf("got %v after %d calls", err, len(model.requests()))
	}
}

// A paused turn is sent back as it is, and the model goes on.
func TestPauseTurn(t *testing.T) {
	paused := answer("Searching...")
	paused.Stop, paused.StopReason = llm.StopPauseTurn, "pause_turn"
	model := newScript(t, replies(paused), func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
		last := req.Messages[len(req.Messages)-1]
		if last.Role != llm.RoleAssistant || text(last.Blocks) != "Searching..." {
			t.Errorf("last message %+v; want the paused reply", last)
		}
		return answer("Found it."), nil
	})
	res, err := mustNew(t, model).Execute(ctxT(t), agent.Task("find"))
	if err != nil || res.Text != "Found it." || res.Turns != 2 {
		t.Fatalf("%+v, %v", res, err)
	}
}

// The reasons a final answer ends with.
func TestFinalStops(t *testing.T) {
	cut := answer("The answer is")
	cut.Stop = llm.StopMaxTokens
	res, err := mustNew(t, newScript(t, replies(cut))).Execute(ctxT(t), agent.Task("go"))
	if err != nil || res.Stop != agent.StopMaxTokens || res.Text != "The answer is" {
		t.Fatalf("%+v, %v", res, err)
	}
}

// The model's errors end the run, wrapped with the transcript, their
// verdict kept; a refusal ends it with the *llm.RefusalError.
func TestModelErrors(t *testing.T) {
	limited := &llm.APIError{Provider: "scripted", Status: 429, Type: "rate_limit_error", After: 3 * time.Second}
	model := newScript(t, replies(toolUse("", call("c", "add", addIn{1, 1}))),
		func(testing.TB, context.Context, llm.Request) (llm.Response, error) { return llm.Response{}, limited })
	_, err := mustNew(t, model, agent.Tools(addTool)).Execute(ctxT(t), agent.Task("go"))
	var re *agent.RunError
	if !errors.As(err, &re) || re.Turn != 2 || !errors.Is(err, llm.ErrRateLimited) || !recovery.IsRetryable(err) || recovery.RetryAfter(err) != 3*time.Second {
		t.Fatalf("got %v", err)
	}
	if len(re.Result.Messages) != 3 || len(re.Result.Calls) != 1 || re.Result.Turns != 2 {
		t.Fatalf("result so far %+v", re.Result)
	}

	refusal := &llm.RefusalError{Provider: "scripted", Model: "m", Stop: llm.StopRefusal, Response: llm.Response{Usage: usage}}
	model = newScript(t, func(testing.TB, context.Context, llm.Request) (llm.Response, error) { return llm.Response{}, refusal })
	_, err = mustNew(t, model).Execute(ctxT(t), agent.Task("go"))
	if !errors.As(err, &re) || !errors.Is(err, llm.ErrRefused) || recovery.IsRetryable(err) || re.Result.Usage != usage {
		t.Fatalf("got %v (usage %+v)", err, re.Result.Usage)
	}
}

// Retry makes a tool's transient failures invisible to the run, and never
// retries its own failures.
func TestRetryTool(t *testing.T) {
	var attempts atomic.Int32
	flaky := agent.NewTool("flaky", "Fails twice.", func(_ context.Context, in weatherIn) (string, error) {
		n := attempts.Add(1)
		if in.City == "nowhere" {
			return "", errors.New("no such city")
		}
		if n < 3 {
			return "", recovery.Transient(errors.New("503"), 0)
		}
		return "sunny", nil
	})
	retried := agent.Retry(flaky, recovery.MaxRetries(3), recovery.InitialDelay(time.Millisecond))
	if retried.Definition().Name != "flaky" {
		t.Fatal("definition lost")
	}
	model := newScript(t, replies(toolUse("", call("c", "flaky", weatherIn{City: "Porto"}))), replies(answer("sunny")))
	if _, err := mustNew(t, model, agent.Tools(retried)).Execute(ctxT(t), agent.Task("go")); err != nil || attempts.Load() != 3 {
		t.Fatalf("%v after %d attempts", err, attempts.Load())
	}
	attempts.Store(10)
	out, err := retried.Call(ctxT(t), json.RawMessage(`{"city":"nowhere"}`))
	var te *agent.ToolError
	if !errors.As(err, &te) || out != nil || attempts.Load() != 11 {
		t.Fatalf("got %v after %d attempts; a tool error is not retried", err, attempts.Load()-10)
	}
}

func TestNewRefusesBadTools(t *testing.T) {
	model := newScript(t)
	if _, err := agent.New(model, agent.Tools(addTool, addTool)); !errors.As(err, new(*agent.ConfigError)) || !strings.Contains(err.Error(), `two tools are named "add"`) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := agent.New(model, agent.Tools(&orderTool{name: "has space"})); err == nil {
		t.Fatal("a bad name was accepted")
	}
	if _, err := agent.New(model, agent.Tools(&orderTool{name: "k", key: []int{1}})); err == nil {
		t.Fatal("a key that is not comparable was accepted")
	}
	for name, f := range map[string]func(){
		"nil model":  func() { agent.New(nil) },
		"nil option": func() { agent.New(model, nil) },
		"nil tool":   func() { agent.Tools(nil) },
		"max turns":  func() { agent.MaxTurns(0) },
		"budget":     func() { agent.TokenBudget(-1) },
		"time":       func() { agent.TimeBudget(-time.Second) },
		"bound":      func() { agent.ToolConcurrency(0) },
		"hook":       func() { agent.Approve(nil) },
	} {
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.HasPrefix(fmt.Sprint(p), "agent: ") {
					t.Errorf("%s: recovered %v; want a panic naming the package", name, p)
				}
			}()
			f()
		}()
	}
}
