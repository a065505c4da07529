package llm

import (
	"context"
	"fmt"
	"io"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// stream runs a streaming call and returns the whole message. It passes
// each text delta to onDelta, and each tool call to onToolCall as soon as
// its content_block_stop arrives; either may be nil (both are when the
// call streams only because it may be long).
//
// The SDK's Accumulate joins the input_json_delta pieces of a tool_use
// block, but at the block's stop it replaces input that does not parse
// with {}: the input is checked here first, and a tool call whose
// arguments are not a JSON object is a *ResponseError.
func (p *Anthropic) stream(ctx context.Context, params anthropic.MessageNewParams, onDelta func(string), onToolCall func(ToolCall), ropts []option.RequestOption) (*anthropic.Message, error) {
	s := p.client.Messages.NewStreaming(ctx, params, ropts...)
	defer s.Close()
	var msg anthropic.Message
	// calls[i] tells whether block i is a tool call still open.
	var calls []bool
	stopped := false
	for s.Next() {
		ev := s.Current()
		openCall := ev.Type == "content_block_stop" && ev.Index >= 0 && ev.Index < int64(len(calls)) && calls[ev.Index]
		if openCall {
			if b := &msg.Content[ev.Index]; !isJSONObject(b.Input) {
				return nil, &ResponseError{Provider: ProviderAnthropic,
					Err: fmt.Errorf("the arguments of tool call %s (%s) streamed in block %d are not a JSON object: %.200q", b.ID, b.Name, ev.Index, b.Input)}
			}
		}
		if err := msg.Accumulate(ev); err != nil {
			return nil, &ResponseError{Provider: ProviderAnthropic, Err: err}
		}
		switch ev.Type {
		case "content_block_start":
			calls = append(calls, ev.ContentBlock.Type == "tool_use")
		case "content_block_delta":
			if onDelta != nil && ev.Delta.Type == "text_delta" && ev.Delta.Text != "" {
				onDelta(ev.Delta.Text)
			}
		case "content_block_stop":
			if openCall {
				calls[ev.Index] = false
				if onToolCall != nil {
					onToolCall(anthropicToolCall(&msg.Content[ev.Index]))
				}
			}
		case "message_stop":
			stopped = true
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	if !stopped {
		return nil, fmt.Errorf("stream ended before message_stop: %w", io.ErrUnexpectedEOF)
	}
	for i, open := range calls {
		if open {
			return nil, &ResponseError{Provider: ProviderAnthropic, Err: fmt.Errorf("message_stop came before the content_block_stop of tool_use block %d", i)}
		}
	}
	return &msg, nil
}
