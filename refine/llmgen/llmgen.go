// Package llmgen makes a chat model the generator of a refine.Loop: the
// requirement, the tests and every failed attempt become a conversation,
// and the code is extracted from the model's reply.
//
//	model, _ := llm.NewOpenAI()
//	loop := refine.New(llmgen.New(model), exec)
//
// It is a package of its own so that package refine does not depend on
// package llm: a loop may be driven by any generator.
package llmgen

import (
	"context"
	"fmt"
	"strings"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/refine"
)

// DefaultSystem is the system prompt of a generator without [System].
const DefaultSystem = "You write Python 3 programs. Reply with the complete program in one ```python fenced block. " +
	"The program runs as a script, on its own, with the standard library only and no network access; " +
	"it prints its results to standard output. When a previous attempt failed, read its error and " +
	"traceback, correct the cause, and reply with the whole corrected program, not a fragment."

// DefaultMaxTokens bounds each reply unless [MaxTokens] says otherwise.
const DefaultMaxTokens = 4096

// Option configures a generator built by [New].
type Option interface {
	ForLLMGen(seal.Token)
}

type option func(*Generator)

func (option) ForLLMGen(seal.Token) {}

// System replaces [DefaultSystem].
func System(prompt string) Option {
	return option(func(g *Generator) { g.system = prompt })
}

// Model names the model of every request; without it the provider's
// default model answers.
func Model(name string) Option {
	return option(func(g *Generator) { g.modelName = name })
}

// MaxTokens bounds each reply (default [DefaultMaxTokens]); n < 1 panics.
// With a token budget, a reply is further bounded by what is left of it.
func MaxTokens(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("llmgen: MaxTokens(%d): must be at least 1", n))
	}
	return option(func(g *Generator) { g.maxTokens = n })
}

// OnDelta streams each reply: f is called with the attempt's number and
// each piece of text as it arrives (llm.Request.OnDelta), from the
// goroutine that runs the loop. A slow local model then shows its
// progress. A nil f panics.
func OnDelta(f func(attempt int, delta string)) Option {
	if f == nil {
		panic("llmgen: OnDelta: function is nil")
	}
	return option(func(g *Generator) { g.onDelta = f })
}

// Generator is a refine generator on a chat model, built by [New]. It is
// safe for concurrent use when the model (and the OnDelta function) is.
type Generator struct {
	model     primitives.Primitive[llm.Request, llm.Response]
	system    string
	modelName string
	maxTokens int
	onDelta   func(attempt int, delta string)
}

var _ primitives.Primitive[refine.Request, refine.Generation] = (*Generator)(nil)

// New returns a generator asking model for code. It panics when model or
// an option is nil.
func New(model primitives.Primitive[llm.Request, llm.Response], opts ...Option) *Generator {
	if primitives.IsNil(model) {
		panic("llmgen: New: model is nil")
	}
	g := &Generator{model: model, system: DefaultSystem, maxTokens: DefaultMaxTokens}
	for i, o := range opts {
		switch o := o.(type) {
		case option:
			o(g)
		case nil:
			panic(fmt.Sprintf("llmgen: New: option %d is nil", i))
		default:
			panic(fmt.Sprintf("llmgen: New: option %d (%T) is not an option of this package", i, o))
		}
	}
	return g
}

// Execute asks the model for the code of attempt req.Attempt and returns
// the code of its reply ([refine.ExtractCode]) with the tokens it
// reported. The model's error is returned as it is.
func (g *Generator) Execute(ctx context.Context, req refine.Request) (refine.Generation, error) {
	resp, err := g.model.Execute(ctx, g.Request(req))
	if err != nil {
		return refine.Generation{}, err
	}
	return refine.Generation{
		Code:  refine.ExtractCode(resp.Text),
		Usage: resp.Usage, // llm.Usage and refine.Usage are one type
	}, nil
}

// Request returns the chat request for req: the system prompt; a user
// message with the requirement (and the tests, when there are any); then,
// for each failed attempt, its code as the model's own message and its
// failure (error, traceback, output; see [refine.Attempt.Feedback]) as
// the user's answer. An attempt whose reply held no code adds its
// feedback to the user's message, so the roles still alternate.
func (g *Generator) Request(req refine.Request) llm.Request {
	var user strings.Builder
	user.WriteString(req.Requirement)
	if req.Tests != "" {
		user.WriteString("\n\nThe program must pass these tests, which are appended to it before it runs:\n```python\n")
		user.WriteString(strings.TrimRight(req.Tests, "\n"))
		user.WriteString("\n```")
	}
	msgs := make([]llm.Message, 0, 2*len(req.History)+1)
	for _, a := range req.History {
		if strings.TrimSpace(a.Code) != "" {
			msgs = append(msgs,
				llm.Message{Role: llm.RoleUser, Content: user.String()},
				llm.Message{Role: llm.RoleAssistant, Content: "```python\n" + strings.TrimRight(a.Code, "\n") + "\n```"})
			user.Reset()
		} else {
			user.WriteString("\n\n")
		}
		user.WriteString(a.Feedback())
		user.WriteString("\nReply with the whole corrected program in one ```python block.")
	}
	msgs = append(msgs, llm.Message{Role: llm.RoleUser, Content: user.String()})

	maxTokens := g.maxTokens
	if req.TokensLeft > 0 && req.TokensLeft < int64(maxTokens) {
		maxTokens = int(req.TokensLeft)
	}
	r := llm.Request{System: g.system, Messages: msgs, Model: g.modelName, MaxTokens: maxTokens}
	if f := g.onDelta; f != nil {
		n := req.Attempt
		r.OnDelta = func(delta string) { f(n, delta) }
	}
	return r
}
