package llm

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	"github.com/ttadev/primitives/observability"
)

// The message parts of the GenAI conventions (gen_ai.input.messages,
// gen_ai.output.messages), recorded only with WithContentCapture.

type textPart struct {
	Type    string `json:"type"` // "text"
	Content string `json:"content"`
}

type toolCallPart struct {
	Type      string `json:"type"` // "tool_call"
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments any    `json:"arguments"`
}

type toolCallResponsePart struct {
	Type     string `json:"type"` // "tool_call_response"
	ID       string `json:"id"`
	Response any    `json:"response"`
}

// blobPart is an inline image: its bytes in base64, as the conventions
// have them.
type blobPart struct {
	Type     string `json:"type"` // "blob"
	Modality string `json:"modality"`
	MimeType string `json:"mime_type,omitempty"`
	Content  string `json:"content"`
}

type uriPart struct {
	Type     string `json:"type"` // "uri"
	Modality string `json:"modality"`
	MimeType string `json:"mime_type,omitempty"`
	URI      string `json:"uri"`
}

type chatMessage struct {
	Role         string `json:"role"`
	Parts        []any  `json:"parts"`
	FinishReason string `json:"finish_reason,omitempty"`
}

// toolDefinition is an element of gen_ai.tool.definitions.
type toolDefinition struct {
	Type        string          `json:"type"` // "function"
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// inputContent returns the system instructions, the input messages and
// the tool definitions of req. A message's Content is a text part, then
// each block is a part in order: a tool call a "tool_call" part, a tool
// result a "tool_call_response" part, an image a "blob" or "uri" part.
func inputContent(req *Request) []attribute.KeyValue {
	var attrs []attribute.KeyValue
	if req.System != "" {
		b, _ := json.Marshal([]textPart{{Type: "text", Content: req.System}})
		attrs = append(attrs, attribute.String(observability.AttrGenAISystemInstructions, string(b)))
	}
	msgs := make([]chatMessage, len(req.Messages))
	for i, m := range req.Messages {
		parts := make([]any, 0, 1+len(m.Blocks))
		if m.Content != "" || len(m.Blocks) == 0 {
			parts = append(parts, textPart{Type: "text", Content: m.Content})
		}
		for _, b := range m.Blocks {
			parts = append(parts, blockPart(b))
		}
		msgs[i] = chatMessage{Role: string(m.Role), Parts: parts}
	}
	b, _ := json.Marshal(msgs)
	attrs = append(attrs, attribute.String(observability.AttrGenAIInputMessages, string(b)))
	if len(req.Tools) > 0 {
		defs := make([]toolDefinition, len(req.Tools))
		for i, t := range req.Tools {
			defs[i] = toolDefinition{Type: "function", Name: t.Name, Description: t.Description}
			if json.Valid(t.InputSchema) {
				defs[i].Parameters = t.InputSchema
			}
		}
		b, _ := json.Marshal(defs)
		attrs = append(attrs, attribute.String(observability.AttrGenAIToolDefinitions, string(b)))
	}
	return attrs
}

// outputContent returns the reply as the conventions' output message,
// with their finish reason.
func outputContent(resp *Response) attribute.KeyValue {
	var parts []any
	if len(resp.Content) > 0 {
		parts = make([]any, len(resp.Content))
		for i, b := range resp.Content {
			parts[i] = blockPart(b)
		}
	} else {
		parts = []any{textPart{Type: "text", Content: resp.Text}}
	}
	b, _ := json.Marshal([]chatMessage{{Role: string(RoleAssistant), Parts: parts, FinishReason: finishReason(resp)}})
	return attribute.String(observability.AttrGenAIOutputMessages, string(b))
}

// finishReason is the conventions' finish reason of resp ("stop",
// "length", "content_filter", "tool_call"), or the service's own word
// when none of them applies.
func finishReason(resp *Response) string {
	switch resp.Stop {
	case StopEndTurn, StopSequence:
		return "stop"
	case StopToolUse:
		return "tool_call"
	case StopMaxTokens:
		return "length"
	case StopContentFilter:
		return "content_filter"
	}
	return resp.StopReason
}

func blockPart(b Block) any {
	switch b := b.(type) {
	case Text:
		return textPart{Type: "text", Content: b.Text}
	case ToolCall:
		return toolCallPart{Type: "tool_call", ID: b.ID, Name: b.Name, Arguments: arguments(b.Arguments)}
	case ToolResult:
		return toolCallResponsePart{Type: "tool_call_response", ID: b.CallID, Response: toolResponse(b.Content)}
	case Image:
		return imagePart(b)
	}
	return textPart{Type: "text"}
}

// arguments keeps a tool call's JSON as it is; arguments that are not
// JSON are recorded as a string.
func arguments(raw json.RawMessage) any {
	switch {
	case len(raw) == 0:
		return json.RawMessage(`{}`)
	case json.Valid(raw):
		return raw
	}
	return string(raw)
}

// toolResponse is a tool result's text when it is one text block, else
// its blocks as parts.
func toolResponse(content []Block) any {
	if len(content) == 0 {
		return ""
	}
	if t, ok := content[0].(Text); ok && len(content) == 1 {
		return t.Text
	}
	parts := make([]any, len(content))
	for i, c := range content {
		parts[i] = blockPart(c)
	}
	return parts
}

func imagePart(img Image) any {
	if len(img.Data) > 0 {
		return blobPart{Type: "blob", Modality: "image", MimeType: img.MediaType, Content: base64.StdEncoding.EncodeToString(img.Data)}
	}
	if strings.HasPrefix(img.URL, "data:") {
		if mediaType, data, err := parseDataURL(img.URL); err == nil {
			return blobPart{Type: "blob", Modality: "image", MimeType: mediaType, Content: data}
		}
	}
	return uriPart{Type: "uri", Modality: "image", MimeType: img.MediaType, URI: img.URL}
}
