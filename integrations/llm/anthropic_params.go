package llm

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/anthropics/anthropic-sdk-go/v2"
)

// anthropicParams translates a validated request into the Messages API's
// parameters.
func anthropicParams(req *Request, model string, maxTokens int) (anthropic.MessageNewParams, error) {
	params := anthropic.MessageNewParams{
		Model:         anthropic.Model(model),
		MaxTokens:     int64(maxTokens),
		Messages:      make([]anthropic.MessageParam, len(req.Messages)),
		StopSequences: req.StopSequences,
	}
	if req.System != "" {
		params.System = []anthropic.TextBlockParam{{Text: req.System}}
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role == RoleUser {
			params.Messages[i] = anthropic.MessageParam{OfUser: &anthropic.UserMessageParam{Content: anthropicUserContent(m)}}
		} else {
			params.Messages[i] = anthropic.MessageParam{OfAssistant: &anthropic.AssistantMessageParam{Content: anthropicAssistantContent(m)}}
		}
	}
	if len(req.Tools) > 0 {
		params.Tools = make([]anthropic.ToolUnionParam, len(req.Tools))
		for i, t := range req.Tools {
			tool := &anthropic.ToolParam{Name: t.Name, InputSchema: anthropicInputSchema(t.InputSchema)}
			if t.Description != "" {
				tool.Description = anthropic.String(t.Description)
			}
			params.Tools[i] = anthropic.ToolUnionParam{OfTool: tool}
		}
		params.ToolChoice = anthropicToolChoice(req.ToolChoice, req.NoParallelToolCalls)
	}
	if f := req.ResponseFormat; f != nil {
		schema, err := rawObject(f.Schema)
		if err != nil {
			return params, invalid("ResponseFormat.Schema", "not a JSON object")
		}
		params.OutputConfig.Format = anthropic.JSONOutputFormatParam{Schema: schema}
	}
	return params, nil
}

// anthropicUserContent is a user message's content: its tool results first,
// as the API requires, then its text and its other blocks in order.
func anthropicUserContent(m *Message) []anthropic.ContentBlockParamUnion {
	content := make([]anthropic.ContentBlockParamUnion, 0, len(m.Blocks)+1)
	for _, b := range m.Blocks {
		if r, ok := b.(ToolResult); ok {
			content = append(content, anthropic.ContentBlockParamUnion{OfToolResult: anthropicToolResult(r)})
		}
	}
	if m.Content != "" || len(m.Blocks) == 0 {
		content = append(content, anthropic.NewTextBlock(m.Content))
	}
	for _, b := range m.Blocks {
		switch b := b.(type) {
		case Text:
			// The API refuses an empty text block; it says nothing.
			if b.Text != "" {
				content = append(content, anthropic.NewTextBlock(b.Text))
			}
		case Image:
			content = append(content, anthropic.ContentBlockParamUnion{OfImage: anthropicImage(b)})
		}
	}
	return content
}

// anthropicAssistantContent is an assistant message's content: its text,
// then its text blocks and tool calls in order.
func anthropicAssistantContent(m *Message) []anthropic.ContentBlockParamUnion {
	content := make([]anthropic.ContentBlockParamUnion, 0, len(m.Blocks)+1)
	if m.Content != "" || len(m.Blocks) == 0 {
		content = append(content, anthropic.NewTextBlock(m.Content))
	}
	for _, b := range m.Blocks {
		switch b := b.(type) {
		case Text:
			// The API refuses an empty text block; it says nothing.
			if b.Text != "" {
				content = append(content, anthropic.NewTextBlock(b.Text))
			}
		case ToolCall:
			args := b.Arguments
			if len(args) == 0 {
				args = json.RawMessage(`{}`)
			}
			content = append(content, anthropic.ContentBlockParamUnion{OfToolUse: &anthropic.ToolUseBlockParam{ID: b.ID, Name: b.Name, Input: args}})
		}
	}
	return content
}

func anthropicToolResult(r ToolResult) *anthropic.ToolResultBlockParam {
	p := &anthropic.ToolResultBlockParam{ToolUseID: r.CallID}
	if r.IsError {
		p.IsError = anthropic.Bool(true)
	}
	if len(r.Content) > 0 {
		p.Content = make([]anthropic.ToolResultBlockParamContentUnion, 0, len(r.Content))
		for _, c := range r.Content {
			switch c := c.(type) {
			case Text:
				p.Content = append(p.Content, anthropic.ToolResultBlockParamContentUnion{OfText: &anthropic.TextBlockParam{Text: c.Text}})
			case Image:
				p.Content = append(p.Content, anthropic.ToolResultBlockParamContentUnion{OfImage: anthropicImage(c)})
			}
		}
	}
	return p
}

// anthropicImage sends inline data, and a data URL, as a base64 source,
// and any other URL as a url source that the service fetches.
func anthropicImage(img Image) *anthropic.ImageBlockParam {
	var src anthropic.ImageBlockParamSourceUnion
	switch {
	case len(img.Data) > 0:
		src.OfBase64 = &anthropic.Base64ImageSourceParam{
			Data:      base64.StdEncoding.EncodeToString(img.Data),
			MediaType: anthropic.Base64ImageSourceMediaType(img.MediaType),
		}
	case strings.HasPrefix(img.URL, "data:"):
		// Validated before: the API fetches no data URL itself.
		mediaType, data, _ := parseDataURL(img.URL)
		src.OfBase64 = &anthropic.Base64ImageSourceParam{Data: data, MediaType: anthropic.Base64ImageSourceMediaType(mediaType)}
	default:
		src.OfURL = &anthropic.URLImageSourceParam{URL: img.URL}
	}
	return &anthropic.ImageBlockParam{Source: src}
}

// anthropicInputSchema sends a tool's schema as given, with "type":
// "object" (which the SDK always writes); nil is an object with no
// declared properties.
func anthropicInputSchema(schema json.RawMessage) anthropic.ToolInputSchemaParam {
	// A non-nil map keeps the parameter from being left out when empty.
	extra := map[string]any{}
	if schema != nil {
		top, _ := rawObject(schema) // validated before
		for k, v := range top {
			if k != "type" {
				extra[k] = v
			}
		}
	}
	return anthropic.ToolInputSchemaParam{ExtraFields: extra}
}

func anthropicToolChoice(c ToolChoice, noParallel bool) anthropic.ToolChoiceUnionParam {
	var disable anthropic.ToolChoiceAutoParam
	if noParallel {
		disable.DisableParallelToolUse = anthropic.Bool(true)
	}
	switch c.Mode {
	case ToolChoiceNone:
		return anthropic.ToolChoiceUnionParam{OfNone: &anthropic.ToolChoiceNoneParam{}}
	case ToolChoiceRequired:
		return anthropic.ToolChoiceUnionParam{OfAny: &anthropic.ToolChoiceAnyParam{DisableParallelToolUse: disable.DisableParallelToolUse}}
	case ToolChoiceTool:
		return anthropic.ToolChoiceUnionParam{OfTool: &anthropic.ToolChoiceToolParam{Name: c.Name, DisableParallelToolUse: disable.DisableParallelToolUse}}
	}
	if !noParallel {
		// auto is the API's default.
		return anthropic.ToolChoiceUnionParam{}
	}
	return anthropic.ToolChoiceUnionParam{OfAuto: &disable}
}

var errNotObject = errors.New("not a JSON object")

// rawObject decodes a JSON object one level deep, keeping each value's
// JSON as it is (numbers included).
func rawObject(b json.RawMessage) (map[string]any, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, err
	}
	if top == nil {
		return nil, errNotObject
	}
	m := make(map[string]any, len(top))
	for k, v := range top {
		m[k] = v
	}
	return m, nil
}
