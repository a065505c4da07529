package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/ttadev/primitives/recovery"
)

// maxToolName is the longest tool name the services accept.
const maxToolName = 64

// supportedImageTypes are the media types of inline images that both
// services accept.
var supportedImageTypes = map[string]bool{
	"image/png":  true,
	"image/jpeg": true,
	"image/gif":  true,
	"image/webp": true,
}

// validateContent refuses, before anything is sent, the blocks, tools and
// formats of a request that no service would accept: a block in a message
// of the wrong role, an image that is not exactly one of inline data and
// a URL, inline data without a supported media type, a tool call without
// an ID, a name or JSON arguments, a tool result without a call ID, tool
// names that break the pattern or repeat, a schema that is not a JSON
// object, and a tool choice that names no declared tool. It returns a
// *recovery.InvalidInputError naming the field.
func validateContent(req *Request) error {
	for i, m := range req.Messages {
		for j, b := range m.Blocks {
			field := fmt.Sprintf("Messages[%d].Blocks[%d]", i, j)
			if err := validateBlock(field, m.Role, b); err != nil {
				return err
			}
		}
	}
	names := make(map[string]struct{}, len(req.Tools))
	for i, t := range req.Tools {
		field := fmt.Sprintf("Tools[%d]", i)
		if !validToolName(t.Name) {
			return invalid(field+".Name", fmt.Sprintf("tool name %q must be 1 to %d letters, digits, '_' or '-'", t.Name, maxToolName))
		}
		if _, dup := names[t.Name]; dup {
			return invalid(field+".Name", fmt.Sprintf("tool name %q is declared twice", t.Name))
		}
		names[t.Name] = struct{}{}
		if t.InputSchema != nil {
			if err := checkObjectSchema(field+".InputSchema", t.InputSchema); err != nil {
				return err
			}
		}
	}
	switch req.ToolChoice.Mode {
	case ToolChoiceAuto, ToolChoiceNone:
	case ToolChoiceRequired:
		if len(req.Tools) == 0 {
			return invalid("ToolChoice", "a tool call is required but Request.Tools declares none")
		}
	case ToolChoiceTool:
		if req.ToolChoice.Name == "" {
			return invalid("ToolChoice.Name", "ToolChoiceTool names no tool")
		}
		if _, ok := names[req.ToolChoice.Name]; !ok {
			return invalid("ToolChoice.Name", fmt.Sprintf("tool %q is not one of Request.Tools", req.ToolChoice.Name))
		}
	default:
		return invalid("ToolChoice.Mode", fmt.Sprintf("unknown mode %q", req.ToolChoice.Mode))
	}
	if f := req.ResponseFormat; f != nil {
		if len(f.Schema) == 0 {
			return invalid("ResponseFormat.Schema", "no schema")
		}
		if !isJSONObject(f.Schema) {
			return invalid("ResponseFormat.Schema", "not a JSON object")
		}
	}
	return nil
}

func validateBlock(field string, role Role, b Block) error {
	switch b := b.(type) {
	case Text:
	case Image:
		if role != RoleUser {
			return invalid(field, "an image belongs in a user message (or a tool result)")
		}
		return validateImage(field, b)
	case ToolCall:
		if role != RoleAssistant {
			return invalid(field, "a tool call belongs in an assistant message")
		}
		if b.ID == "" {
			return invalid(field+".ID", "a tool call needs the ID the model gave it")
		}
		if b.Name == "" {
			return invalid(field+".Name", "a tool call needs the tool's name")
		}
		if len(b.Arguments) > 0 && !isJSONObject(b.Arguments) {
			return invalid(field+".Arguments", "not a JSON object")
		}
	case ToolResult:
		if role != RoleUser {
			return invalid(field, "a tool result belongs in a user message")
		}
		if b.CallID == "" {
			return invalid(field+".CallID", "a tool result needs the ID of the call it answers")
		}
		for k, c := range b.Content {
			cf := fmt.Sprintf("%s.Content[%d]", field, k)
			switch c := c.(type) {
			case Text:
			case Image:
				if err := validateImage(cf, c); err != nil {
					return err
				}
			default:
				return invalid(cf, fmt.Sprintf("a tool result holds Text and Image blocks, not %s", blockName(c)))
			}
		}
	default:
		return invalid(field, fmt.Sprintf("%s is not a block of this package", blockName(b)))
	}
	return nil
}

func validateImage(field string, img Image) error {
	switch {
	case len(img.Data) == 0 && img.URL == "":
		return invalid(field, "an image needs Data or URL")
	case len(img.Data) > 0 && img.URL != "":
		return invalid(field, "an image has either Data or URL, not both")
	case len(img.Data) > 0:
		if img.MediaType == "" {
			return invalid(field+".MediaType", "inline image data needs its media type")
		}
		if !supportedImageTypes[img.MediaType] {
			return invalid(field+".MediaType", fmt.Sprintf("media type %q is not image/png, image/jpeg, image/gif or image/webp", img.MediaType))
		}
		return nil
	}
	if strings.HasPrefix(img.URL, "data:") {
		if _, _, err := parseDataURL(img.URL); err != nil {
			return invalid(field+".URL", err.Error())
		}
		return nil
	}
	u, err := url.Parse(img.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return invalid(field+".URL", "not an absolute http(s) URL nor a data URL")
	}
	return nil
}

// parseDataURL splits a base64 data URL of an image,
// "data:image/png;base64,....", into its media type and its base64 text.
func parseDataURL(s string) (mediaType, data string, err error) {
	head, data, ok := strings.Cut(strings.TrimPrefix(s, "data:"), ",")
	mediaType, enc, _ := strings.Cut(head, ";")
	if !ok || enc != "base64" {
		return "", "", fmt.Errorf("a data URL of an image must be base64: data:<media type>;base64,<data>")
	}
	if !supportedImageTypes[mediaType] {
		return "", "", fmt.Errorf("media type %q is not image/png, image/jpeg, image/gif or image/webp", mediaType)
	}
	return mediaType, data, nil
}

// checkObjectSchema refuses a schema that is not a JSON object whose
// "type", when present, is "object".
func checkObjectSchema(field string, schema json.RawMessage) error {
	var probe struct {
		Type json.RawMessage `json:"type"`
	}
	if !startsObject(schema) || json.Unmarshal(schema, &probe) != nil {
		return invalid(field, "not a JSON object")
	}
	if probe.Type != nil && string(bytes.TrimSpace(probe.Type)) != `"object"` {
		return invalid(field, fmt.Sprintf(`the schema's type is %s; a tool's input is an object ("type": "object")`, probe.Type))
	}
	return nil
}

func validToolName(name string) bool {
	if name == "" || len(name) > maxToolName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isJSONObject(b []byte) bool {
	return startsObject(b) && json.Valid(b)
}

// startsObject reports whether b's first byte other than white space is
// '{': with valid JSON, whether it is an object.
func startsObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

func blockName(b Block) string {
	if b == nil {
		return "a nil block"
	}
	name := fmt.Sprintf("%T", b)
	if strings.HasPrefix(name, "*") {
		return name + " (blocks are values: use " + name[1:] + ")"
	}
	return name
}

func invalid(field, reason string) error {
	return &recovery.InvalidInputError{Field: field, Reason: reason}
}
