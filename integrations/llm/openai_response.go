package llm

import (
	"encoding/json"
	"fmt"

	"github.com/openai/openai-go/v3"
)

// This file turns a chat completion into a Response: its text and tool
// calls as content blocks, the stop reason in common terms, and a refusal
// or a content filter's cut as a *RefusalError rather than an empty
// success.

// openAIStop normalizes a finish_reason.
func openAIStop(reason string) StopReason {
	switch reason {
	case "stop":
		// OpenAI says "stop" for a stop sequence too, and does not say
		// which.
		return StopEndTurn
	case "tool_calls", "function_call":
		return StopToolUse
	case "length":
		return StopMaxTokens
	case "content_filter":
		return StopContentFilter
	}
	return StopOther
}

// openAIArguments returns the arguments of a tool call the model made:
// "{}" for none (some compatible servers send ""), an error when they are
// not valid JSON.
func openAIArguments(id, name string, args string) (json.RawMessage, error) {
	if args == "" {
		return json.RawMessage("{}"), nil
	}
	if !json.Valid([]byte(args)) {
		return nil, &ResponseError{Provider: ProviderOpenAI,
			Err: fmt.Errorf("the arguments of tool call %s (%s) are not valid JSON (%d bytes)", id, name, len(args))}
	}
	return json.RawMessage(args), nil
}

// openAIResponse returns the Response for a completion, or the
// *RefusalError or *ResponseError it amounts to.
func openAIResponse(cc *openai.ChatCompletion) (Response, string, error) {
	if len(cc.Choices) == 0 {
		return Response{}, "", &ResponseError{Provider: ProviderOpenAI, Err: fmt.Errorf("completion %q has no choices", cc.ID)}
	}
	ch := &cc.Choices[0]
	msg := &ch.Message
	resp := Response{
		Text:       msg.Content,
		Model:      cc.Model,
		StopReason: ch.FinishReason,
		Stop:       openAIStop(ch.FinishReason),
		Usage:      openAIUsage(cc.Usage),
	}
	n := len(msg.ToolCalls)
	if msg.Content != "" {
		n++
	}
	if n > 0 {
		resp.Content = make([]Block, 0, n)
	}
	if msg.Content != "" {
		resp.Content = append(resp.Content, Text{Text: msg.Content})
	}
	if len(msg.ToolCalls) > 0 {
		resp.ToolCalls = make([]ToolCall, 0, len(msg.ToolCalls))
	}
	for _, tc := range msg.ToolCalls {
		if tc.Type != "function" && tc.Type != "" {
			return Response{}, "", &ResponseError{Provider: ProviderOpenAI,
				Err: fmt.Errorf("tool call %s has type %q; only function tools are declared", tc.ID, tc.Type)}
		}
		args, err := openAIArguments(tc.ID, tc.Function.Name, tc.Function.Arguments)
		if err != nil {
			return Response{}, "", err
		}
		call := ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: args}
		resp.ToolCalls = append(resp.ToolCalls, call)
		resp.Content = append(resp.Content, call)
	}
	if err := openAIRefusal(&resp, msg.Refusal); err != nil {
		return Response{}, "", err
	}
	return resp, cc.ID, nil
}

// openAIRefusal returns the *RefusalError of a reply that carries a
// refusal or that the content filter cut, and nil otherwise.
func openAIRefusal(resp *Response, refusal string) error {
	switch {
	case refusal != "":
		resp.Stop = StopRefusal
		return &RefusalError{Provider: ProviderOpenAI, Model: resp.Model, Stop: StopRefusal, Refusal: refusal, Response: *resp}
	case resp.Stop == StopContentFilter:
		return &RefusalError{Provider: ProviderOpenAI, Model: resp.Model, Stop: StopContentFilter, Response: *resp}
	}
	return nil
}

func openAIUsage(u openai.CompletionUsage) Usage {
	return Usage{
		InputTokens:              u.PromptTokens,
		OutputTokens:             u.CompletionTokens,
		CacheReadInputTokens:     u.PromptTokensDetails.CachedTokens,
		CacheCreationInputTokens: u.PromptTokensDetails.CacheWriteTokens,
	}
}
