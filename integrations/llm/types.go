package llm

import (
	"context"
	"fmt"

	"github.com/ttadev/primitives"
	"github.com/ttadev/primitives/tokens"
)

// Role says who wrote a [Message].
type Role string

// Roles of a conversation. The system prompt is not a message: it is
// [Request.System].
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// Message is one turn of a conversation. Its content is Content, as one
// [Text] block when it is not empty, followed by Blocks: a message of
// text alone needs only Content.
type Message struct {
	Role    Role
	Content string
	// Blocks are the message's other content: images, the model's tool
	// calls (in an assistant message), tool results (in a user message).
	Blocks []Block
}

// Request is one call of a chat model, in terms every provider of this
// package understands. The zero values of the optional fields mean "the
// provider's default".
//
// A Request is read, never modified, by the providers; it may be shared
// between goroutines as long as nobody modifies it meanwhile.
type Request struct {
	// System is the system prompt; empty means none.
	System string
	// Messages is the conversation, oldest first. It must not be empty and
	// should start with a user message.
	Messages []Message
	// Model names the model; empty means the provider's default model
	// (set with the provider's WithModel option).
	Model string
	// MaxTokens bounds the reply; 0 means the provider's default.
	MaxTokens int
	// StopSequences end the reply when the model produces one of them.
	StopSequences []string
	// Temperature, when not nil, asks for that sampling temperature.
	// The Anthropic provider refuses it with a *TemperatureRejectedError
	// before anything is sent (the API version it speaks rejects it).
	Temperature *float64
	// Tools are the tools the model may call; see ToolChoice.
	Tools []Tool
	// ToolChoice says whether and which tool the model must call; the
	// zero value lets it decide.
	ToolChoice ToolChoice
	// NoParallelToolCalls asks for at most one tool call per reply
	// (Anthropic's disable_parallel_tool_use, OpenAI's
	// parallel_tool_calls false). By default a reply may hold several.
	NoParallelToolCalls bool
	// ResponseFormat, when not nil, asks for a reply that is one JSON
	// value following its schema.
	ResponseFormat *JSONSchemaFormat
	// OnDelta, when not nil, makes the call stream: it is called with each
	// piece of text as it arrives, in order, from the goroutine that called
	// Execute. The Response still carries the whole text and the usage.
	OnDelta func(delta string)
	// OnToolCall, when not nil, makes the call stream too: it is called
	// with each tool call as soon as its arguments are complete, in
	// order, from the goroutine that called Execute. The Response still
	// lists every call.
	OnToolCall func(call ToolCall)
}

// Usage counts the tokens of one call, as the service reported them: the
// one type of the module for token counts, shared with refine.Usage.
// InputTokens counts the whole prompt, the cached part included, with
// every provider (Anthropic reports the cached part apart; the provider
// adds it back).
type Usage = tokens.Usage

// Response is the answer to one [Request].
type Response struct {
	// Text is the reply's text (all text blocks, concatenated).
	Text string
	// Content is the whole reply in order: Text and ToolCall blocks. It
	// is what goes back into the conversation as the assistant's message
	// (see [Response.Message]).
	Content []Block
	// ToolCalls are the reply's tool calls, in order: the ToolCall blocks
	// of Content.
	ToolCalls []ToolCall
	// Model is the model that answered, as the service named it.
	Model string
	// Stop is why generation stopped, in terms common to the providers.
	Stop StopReason
	// StopReason is why generation stopped, as the service said it
	// ("end_turn", "tool_use", "max_tokens", "stop_sequence" for
	// Anthropic; "stop", "tool_calls", "length" for OpenAI).
	StopReason string
	// Usage counts the tokens of the call.
	Usage Usage
}

// Message returns the reply as the assistant's message, to append to the
// conversation before the tool results.
func (r *Response) Message() Message {
	return Message{Role: RoleAssistant, Blocks: r.Content}
}

// Provider is a chat model behind a service: a primitive from [Request] to
// [Response] that also names its service ("anthropic", "openai"), as the
// OpenTelemetry GenAI conventions name it in gen_ai.provider.name.
//
// The providers of this package are safe for concurrent use.
type Provider interface {
	primitives.Primitive[Request, Response]
	// Name returns the provider's name, e.g. "anthropic" or "openai".
	Name() string
}

// Prompt turns p into a step of a pipeline: the returned primitive builds
// a [Request] from its input with build, runs p, and returns the reply's
// text. It drops an LLM into primitives.Then or PipeN like any other step:
//
//	ask := llm.Prompt(provider, func(task string) llm.Request {
//		return llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: task}}}
//	})
//	pipeline := primitives.Then(ask, extractCode)
//
// Prompt adds one indirect call and what build costs (about 75 ns in all
// for a one-message request) to the cost of p. It is safe for concurrent
// use when build is. It panics when p or build is nil.
func Prompt[In any](p primitives.Primitive[Request, Response], build func(In) Request) primitives.Primitive[In, string] {
	if primitives.IsNil(p) {
		panic("llm: Prompt: primitive is nil")
	}
	if build == nil {
		panic("llm: Prompt: build function is nil")
	}
	return &prompt[In]{p: p, build: build}
}

type prompt[In any] struct {
	p     primitives.Primitive[Request, Response]
	build func(In) Request
}

// Execute builds the request, runs the model and returns the reply's text.
func (s *prompt[In]) Execute(ctx context.Context, in In) (string, error) {
	resp, err := s.p.Execute(ctx, s.build(in))
	if err != nil {
		return "", err
	}
	return resp.Text, nil
}

// String names the step for debugging.
func (s *prompt[In]) String() string { return fmt.Sprintf("llm.Prompt(%T)", s.p) }
