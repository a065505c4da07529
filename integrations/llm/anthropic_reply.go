package llm

import (
	"strings"

	"github.com/anthropics/anthropic-sdk-go/v2"
)

// anthropicResponse turns a whole message of the API into a Response: its
// text and tool_use blocks in order (other blocks, such as thinking, are
// left out), its stop reason and its usage.
func anthropicResponse(msg *anthropic.Message) Response {
	resp := Response{
		Model:      string(msg.Model),
		Stop:       anthropicStop(msg.StopReason),
		StopReason: string(msg.StopReason),
		Usage: Usage{
			// Anthropic's input_tokens leaves out the cached part.
			InputTokens:              msg.Usage.InputTokens + msg.Usage.CacheReadInputTokens + msg.Usage.CacheCreationInputTokens,
			OutputTokens:             msg.Usage.OutputTokens,
			CacheReadInputTokens:     msg.Usage.CacheReadInputTokens,
			CacheCreationInputTokens: msg.Usage.CacheCreationInputTokens,
		},
	}
	var text strings.Builder
	calls := 0
	for i := range msg.Content {
		switch msg.Content[i].Type {
		case "text":
			text.WriteString(msg.Content[i].Text)
		case "tool_use":
			calls++
		}
	}
	resp.Text = text.String()
	if n := len(msg.Content); n > 0 {
		resp.Content = make([]Block, 0, n)
	}
	if calls > 0 {
		resp.ToolCalls = make([]ToolCall, 0, calls)
	}
	for i := range msg.Content {
		b := &msg.Content[i]
		switch b.Type {
		case "text":
			// An empty block (a stream's block that got no delta) is
			// left out: sent back, the API would refuse it.
			if b.Text != "" {
				resp.Content = append(resp.Content, Text{Text: b.Text})
			}
		case "tool_use":
			call := anthropicToolCall(b)
			resp.Content = append(resp.Content, call)
			resp.ToolCalls = append(resp.ToolCalls, call)
		}
	}
	return resp
}

func anthropicToolCall(b *anthropic.ContentBlockUnion) ToolCall {
	return ToolCall{ID: b.ID, Name: b.Name, Arguments: b.Input}
}

// anthropicStop maps the API's stop_reason to a StopReason.
// "model_context_window_exceeded" is StopMaxTokens: the reply was cut by a
// token limit, the context window's rather than max_tokens (OpenAI's
// "length" covers both).
func anthropicStop(r anthropic.StopReason) StopReason {
	switch r {
	case anthropic.StopReasonEndTurn:
		return StopEndTurn
	case anthropic.StopReasonToolUse:
		return StopToolUse
	case anthropic.StopReasonMaxTokens, anthropic.StopReasonModelContextWindowExceeded:
		return StopMaxTokens
	case anthropic.StopReasonStopSequence:
		return StopSequence
	case anthropic.StopReasonRefusal:
		return StopRefusal
	case anthropic.StopReasonPauseTurn:
		return StopPauseTurn
	}
	return StopOther
}

// anthropicRefusal returns the *RefusalError of a refused reply, or nil.
func anthropicRefusal(msg *anthropic.Message, resp *Response) error {
	if resp.Stop != StopRefusal {
		return nil
	}
	return &RefusalError{
		Provider: ProviderAnthropic,
		Model:    resp.Model,
		Stop:     StopRefusal,
		Refusal:  msg.StopDetails.Explanation,
		Response: *resp,
	}
}
