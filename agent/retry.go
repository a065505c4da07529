package agent

import (
	"context"
	"encoding/json"
	"errors"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/recovery"
)

// Retry returns t with its calls retried by recovery.Retry with opts: a
// call that fails for a reason of infrastructure that says it may succeed
// later (a rate limit, a lost connection) is made again, with backoff and
// the error's Retry-After, before the run hears of it. A *ToolError is
// never retried: it goes to the model at once. When the retries run out,
// the *recovery.RetryError (not retryable) ends the run.
//
// The run itself never retries a tool: a failure of infrastructure ends
// it, because the caller, not the model, must decide about an outage.
// Retry is how a caller decides in advance. A tool that is [Serial] stays
// Serial with the same key. t nil panics.
func Retry(t Tool, opts ...recovery.RetryOption) Tool {
	if isNil(t) {
		panic("agent: Retry: tool is nil")
	}
	inner := primitives.Func[json.RawMessage, []llm.Block](func(ctx context.Context, args json.RawMessage) ([]llm.Block, error) {
		blocks, err := t.Call(ctx, args)
		var te *ToolError
		if errors.As(err, &te) {
			return nil, recovery.Permanent(err)
		}
		return blocks, err
	})
	r := &retried{def: t.Definition(), p: recovery.Retry[json.RawMessage, []llm.Block](inner, opts...)}
	if s, ok := t.(Serial); ok {
		return serialTool{Tool: r, key: s.SerialKey()}
	}
	return r
}

type retried struct {
	def llm.Tool
	p   primitives.Primitive[json.RawMessage, []llm.Block]
}

// Definition returns the wrapped tool's definition.
func (t *retried) Definition() llm.Tool { return t.def }

// Call calls the wrapped tool through recovery.Retry.
func (t *retried) Call(ctx context.Context, args json.RawMessage) ([]llm.Block, error) {
	return t.p.Execute(ctx, args)
}
