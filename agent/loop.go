package agent

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ttadev/primitives/integrations/llm"
)

// errTimeBudget is the cause of a run's context when its TimeBudget
// passes.
var errTimeBudget = errors.New("agent: time budget spent")

// closeTimeout bounds releasing what the tools kept for a run (closing
// the sandbox session), which runs even when the caller's context has
// ended.
const closeTimeout = 30 * time.Second

// run is the state of one Execute.
type run struct {
	a     *Agent
	msgs  []llm.Message
	calls []Call
	usage llm.Usage
	turns int
	stop  Stop
	text  string
	scope scope

	start    time.Time
	span     trace.Span // the run's span; nil when tracing is off
	turnSpan trace.Span // the current turn's span
	finished bool
}

func newRun(a *Agent, in Input) *run {
	msgs := make([]llm.Message, 0, len(in.Messages)+1+2*a.cfg.maxTurns)
	msgs = append(msgs, in.Messages...)
	if in.Task != "" || len(in.Images) > 0 {
		m := llm.Message{Role: llm.RoleUser, Content: in.Task}
		for _, img := range in.Images {
			m.Blocks = append(m.Blocks, img)
		}
		msgs = append(msgs, m)
	}
	return &run{a: a, msgs: msgs, start: time.Now()}
}

func (r *run) execute(parent context.Context) (res Result, err error) {
	ctx := r.startSpan(parent)
	ctx = withScope(ctx, &r.scope)
	if d := r.a.cfg.timeBudget; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, errTimeBudget)
		defer cancel()
	}
	// Whatever happens, a panic of the model included, what the tools
	// kept for the run is released and the spans end.
	defer r.release(parent)
	if r.span != nil {
		defer r.endOnPanic()
	}
	res, err = r.loop(parent, ctx)
	r.finish(parent, res, err)
	return res, err
}

func (r *run) loop(parent, ctx context.Context) (Result, error) {
	cfg := &r.a.cfg
	for turn := 1; ; turn++ {
		if err := cause(ctx); err != nil {
			return r.fail(parent, ctx, turn, "", "", err)
		}
		tctx := r.startTurn(ctx, turn)
		resp, err := r.a.model.Execute(tctx, r.request())
		r.turns = turn
		if err != nil {
			var refusal *llm.RefusalError
			if errors.As(err, &refusal) {
				r.usage = r.usage.Add(refusal.Response.Usage)
			}
			r.endTurn(err, 0)
			return r.fail(parent, ctx, turn, "", "", err)
		}
		r.usage = r.usage.Add(resp.Usage)
		r.msgs = append(r.msgs, replyMessage(&resp))
		calls := resp.ToolCalls

		if len(calls) == 0 {
			if resp.Stop == llm.StopPauseTurn {
				// The service paused a long turn: sending the reply back
				// lets the model go on.
				if turn >= cfg.maxTurns {
					r.endTurn(nil, 0)
					return r.limit(StopMaxTurns, nil)
				}
				r.endTurn(nil, 0)
				continue
			}
			r.text = resp.Text
			r.stop = finalStop(resp.Stop)
			r.endTurn(nil, 0)
			return r.result(), nil
		}

		// The reply asks for tools: run them unless a limit says that no
		// model call would read their results.
		var limit Stop
		switch {
		case cfg.maxCalls > 0 && len(calls) > cfg.maxCalls:
			limit = StopMaxToolCalls
		case turn >= cfg.maxTurns:
			limit = StopMaxTurns
		case cfg.tokenBudget > 0 && r.usage.Total() >= cfg.tokenBudget:
			limit = StopTokenBudget
		}
		if limit != "" {
			r.endTurn(nil, len(calls))
			return r.limit(limit, calls)
		}
		if err := cause(ctx); err != nil {
			r.endTurn(err, 0)
			return r.fail(parent, ctx, turn, "", "", err)
		}
		fail := r.dispatch(tctx, turn, calls)
		if fail != nil {
			r.endTurn(fail.err, len(calls))
			return r.fail(parent, ctx, turn, fail.tool, fail.callID, fail.err)
		}
		r.endTurn(nil, len(calls))
	}
}

// request builds the model call of the next turn. The messages are the
// run's own slice, capped so that the model sees them as they are now.
func (r *run) request() llm.Request {
	cfg := &r.a.cfg
	return llm.Request{
		System:              cfg.system,
		Messages:            r.msgs[:len(r.msgs):len(r.msgs)],
		Model:               cfg.model,
		MaxTokens:           cfg.maxTokens,
		StopSequences:       cfg.stopSequences,
		Tools:               r.a.defs,
		NoParallelToolCalls: cfg.maxCalls == 1,
	}
}

// replyMessage is the reply as the assistant's message of the
// transcript.
func replyMessage(resp *llm.Response) llm.Message {
	if len(resp.Content) == 0 {
		return llm.Message{Role: llm.RoleAssistant, Content: resp.Text}
	}
	return resp.Message()
}

// finalStop maps the stop reason of a reply without tool calls.
func finalStop(s llm.StopReason) Stop {
	switch s {
	case llm.StopMaxTokens:
		return StopMaxTokens
	case llm.StopSequence:
		return StopSequence
	}
	return StopEndTurn
}

func (r *run) result() Result {
	return Result{Text: r.text, Messages: r.msgs, Calls: r.calls, Usage: r.usage, Turns: r.turns, Stop: r.stop}
}

// limit ends the run with a *LimitError. The calls of the last reply
// (those not run) are answered with error results saying why, so the
// transcript stays a valid conversation.
func (r *run) limit(l Stop, notRun []llm.ToolCall) (Result, error) {
	if len(notRun) > 0 {
		reason := "not run: " + limitReason(l)
		blocks := make([]llm.Block, len(notRun))
		for i, c := range notRun {
			blocks[i] = llm.ToolResult{CallID: c.ID, Content: []llm.Block{llm.Text{Text: reason}}, IsError: true}
		}
		r.msgs = append(r.msgs, llm.Message{Role: llm.RoleUser, Blocks: blocks})
	}
	r.stop = l
	return Result{}, &LimitError{Limit: l, Result: r.result()}
}

func limitReason(l Stop) string {
	switch l {
	case StopMaxTurns:
		return "the run reached its turn limit"
	case StopTokenBudget:
		return "the run spent its token budget"
	case StopTimeBudget:
		return "the run spent its time budget"
	case StopMaxToolCalls:
		return "the reply asked for more tool calls than one turn may make"
	}
	return "the run reached a limit"
}

// fail ends the run on err. Whether the caller gave up is read from the
// caller's context, whatever err looks like; then whether the run's time
// budget passed; otherwise err is the model's or a tool's failure.
func (r *run) fail(parent, ctx context.Context, turn int, tool, callID string, err error) (Result, error) {
	if c := cause(parent); c != nil {
		return Result{}, &RunError{Turn: turn, Err: c, Result: r.result()}
	}
	if ctx.Err() != nil && context.Cause(ctx) == errTimeBudget {
		return r.limit(StopTimeBudget, nil)
	}
	return Result{}, &RunError{Turn: turn, Tool: tool, CallID: callID, Err: err, Result: r.result()}
}

// release ends what the tools kept for the run (the sandbox session),
// with a context of its own: the caller's may have ended.
func (r *run) release(parent context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), closeTimeout)
	defer cancel()
	if err := r.scope.end(ctx); err != nil {
		r.logRelease(ctx, err)
	}
}

// endOnPanic ends the open spans when the model or the approval hook
// panics; the panic goes on.
func (r *run) endOnPanic() {
	if r.finished {
		return
	}
	for _, s := range []trace.Span{r.turnSpan, r.span} {
		if s != nil {
			s.SetStatus(codes.Error, "panic")
			s.End()
		}
	}
}
