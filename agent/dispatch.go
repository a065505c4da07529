package agent

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/observability"
)

// outcome is what one tool call of a turn came to.
type outcome struct {
	content []llm.Block
	isError bool
	// err is the tool's error (a *ToolError the model read, or the
	// infrastructure failure), a denial or an unknown tool.
	err error
	// errType is the error.type of the call's span and metric; "" for a
	// success.
	errType string
	// infra reports a failure that ends the run.
	infra bool
	// recorded calls go into Result.Calls: every call but those left
	// unstarted because the run was stopping.
	recorded bool
	dur      time.Duration
}

// failure is the infrastructure failure that ends a run, and the call
// that failed.
type failure struct {
	tool, callID string
	err          error
}

// notCompleted answers a call whose result the run could not get.
var notCompleted = []llm.Block{llm.Text{Text: "not completed: the run stopped on an error"}}

// dispatch runs the calls of one reply and appends their results, in the
// model's order, to the transcript. Unknown tools and denied calls are
// answered without running anything; the others run on goroutines of
// their own (the calls of one Serial key on one goroutine, in order), at
// most ToolConcurrency at once. The first infrastructure failure cancels
// the calls still running and is returned; the transcript then answers
// every call that did not complete with an error result.
func (r *run) dispatch(ctx context.Context, turn int, calls []llm.ToolCall) *failure {
	a := r.a
	outs := make([]outcome, len(calls))
	entries := make([]*entry, len(calls))
	runnable := 0
	var aborted error // the context ended while the hook was deciding
	for i, c := range calls {
		e := a.tools[c.Name]
		if e == nil {
			outs[i] = outcome{isError: true, recorded: true, errType: observability.ErrorTypeUnknownTool,
				err: &ToolError{Message: fmt.Sprintf("there is no tool named %q; the tools are: %s", c.Name, a.known), Err: ErrUnknownTool}}
			r.callNotRun(ctx, c, nil, &outs[i])
			continue
		}
		if a.cfg.approve != nil {
			if err := a.cfg.approve(ctx, c); err != nil {
				if ctx.Err() != nil {
					aborted = cause(ctx)
					break
				}
				outs[i] = outcome{isError: true, recorded: true, errType: observability.ErrorTypeDenied,
					err: &ToolError{Message: "the call was refused: " + err.Error(), Err: fmt.Errorf("%w: %w", ErrDenied, err)}}
				r.callNotRun(ctx, c, e, &outs[i])
				continue
			}
		}
		entries[i] = e
		runnable++
	}
	first := -1
	if aborted != nil {
		clear(entries)
	} else if runnable > 0 {
		first = r.runCalls(ctx, turn, calls, entries, outs)
	}

	blocks := make([]llm.Block, len(calls))
	for i, c := range calls {
		o := &outs[i]
		res := llm.ToolResult{CallID: c.ID, Content: o.content, IsError: o.isError}
		switch {
		case !o.recorded:
			res.Content, res.IsError = notCompleted, true
		case o.infra:
			res.Content, res.IsError = notCompleted, true
		case o.isError:
			res.Content = []llm.Block{llm.Text{Text: toolMessage(o.err)}}
		}
		blocks[i] = res
		if o.recorded {
			call := Call{Turn: turn, ID: c.ID, Name: c.Name, Arguments: c.Arguments, Content: res.Content,
				IsError: res.IsError, Err: o.err, Duration: o.dur}
			r.calls = append(r.calls, call)
		}
	}
	r.msgs = append(r.msgs, llm.Message{Role: llm.RoleUser, Blocks: blocks})
	switch {
	case aborted != nil:
		return &failure{err: aborted}
	case first >= 0:
		return &failure{tool: calls[first].Name, callID: calls[first].ID, err: outs[first].err}
	}
	return nil
}

// toolMessage is what the model reads of a tool's failure.
func toolMessage(err error) string {
	var te *ToolError
	if errors.As(err, &te) && te.Message != "" {
		return te.Message
	}
	return "the tool failed"
}

// runCalls runs the calls whose entries are set and returns the index of
// the first that failed for a reason of infrastructure, or -1.
func (r *run) runCalls(ctx context.Context, turn int, calls []llm.ToolCall, entries []*entry, outs []outcome) int {
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var mu sync.Mutex
	first := -1
	sem := make(chan struct{}, r.a.cfg.concurrency)
	one := func(i int) {
		sem <- struct{}{}
		defer func() { <-sem }()
		if tctx.Err() != nil {
			return // the run is stopping: left unstarted, answered as not completed
		}
		r.call(tctx, calls[i], entries[i], &outs[i])
		if outs[i].infra {
			mu.Lock()
			if first < 0 {
				first = i
				cancel(outs[i].err)
			}
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	var groups map[any][]int
	for i, e := range entries {
		switch {
		case e == nil:
		case e.key == nil:
			wg.Go(func() { one(i) })
		default:
			if groups == nil {
				groups = map[any][]int{}
			}
			groups[e.key] = append(groups[e.key], i)
		}
	}
	for _, group := range groups {
		wg.Go(func() {
			for _, i := range group {
				one(i)
			}
		})
	}
	wg.Wait()
	return first
}

// call runs one tool call on a goroutine of the run and classifies its
// outcome. A panic of the tool cannot reach the caller from here: it
// becomes a *primitives.PanicError (not retryable) that ends the run.
func (r *run) call(ctx context.Context, c llm.ToolCall, e *entry, o *outcome) {
	start := time.Now()
	ctx, span := r.startToolSpan(ctx, c, e)
	o.recorded = true
	defer func() {
		if p := recover(); p != nil {
			*o = outcome{recorded: true, infra: true, errType: observability.ErrorTypePanic,
				err: &primitives.PanicError{Value: p, Stack: debug.Stack()}}
		}
		o.dur = time.Since(start)
		r.endToolSpan(ctx, span, e, o)
	}()
	content, err := e.tool.Call(ctx, c.Arguments)
	var te *ToolError
	switch {
	case err == nil:
		if bad := foreignBlock(content); bad != "" {
			o.infra, o.errType = true, observability.ErrorTypeToolInfrastructure
			o.err = fmt.Errorf("agent: tool %s returned a %s block; a tool's result holds llm.Text and llm.Image blocks", c.Name, bad)
			return
		}
		o.content = content
	case errors.As(err, &te):
		o.isError, o.err, o.errType = true, err, observability.ErrorTypeToolError
	default:
		o.infra, o.err, o.errType = true, err, observability.ErrorTypeToolInfrastructure
		if ctx.Err() != nil {
			o.errType = observability.ErrorTypeCanceled
		}
	}
}

// foreignBlock describes the first block of content that is not llm.Text
// or llm.Image, or returns "".
func foreignBlock(content []llm.Block) string {
	for _, b := range content {
		switch b.(type) {
		case llm.Text, llm.Image:
		case nil:
			return "nil"
		default:
			return fmt.Sprintf("%T", b)
		}
	}
	return ""
}
