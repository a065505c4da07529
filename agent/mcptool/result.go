package mcptool

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/integrations/llm"
)

// BlocksFromResult maps an MCP tool result to the blocks of an agent
// tool's result:
//
//   - text content becomes llm.Text;
//   - image content becomes llm.Image (its bytes, its MIME type) when the
//     type is one models take (PNG, JPEG, GIF, WebP), and a line of text
//     describing it otherwise (an SVG, say);
//   - an embedded resource becomes its text (after a line naming it), or
//     an llm.Image when it is an image models take, or a line describing
//     it;
//   - audio and resource links become a line of text describing them;
//   - structured content becomes its JSON as text when the result has no
//     text content (servers are asked to mirror it in text, so it is not
//     repeated when they do).
//
// A result with IsError set is an *agent.ToolError whose message is the
// result's text (its blocks joined by newlines), so the model reads it
// as an error result.
func BlocksFromResult(res *mcp.CallToolResult) ([]llm.Block, error) {
	if res == nil {
		return nil, nil
	}
	blocks := make([]llm.Block, 0, len(res.Content)+1)
	hasText := false
	for _, c := range res.Content {
		if _, ok := c.(*mcp.TextContent); ok {
			hasText = true
		}
		if b := block(c); b != nil {
			blocks = append(blocks, b)
		}
	}
	if !hasText && res.StructuredContent != nil {
		if raw, err := json.Marshal(res.StructuredContent); err == nil {
			blocks = append(blocks, llm.Text{Text: string(raw)})
		}
	}
	if res.IsError {
		return nil, &agent.ToolError{Message: errorText(blocks)}
	}
	return blocks, nil
}

// errorText is the message of an error result.
func errorText(blocks []llm.Block) string {
	var parts []string
	for _, b := range blocks {
		if t, ok := b.(llm.Text); ok && t.Text != "" {
			parts = append(parts, t.Text)
		}
	}
	if len(parts) == 0 {
		return "the tool failed and gave no message"
	}
	return strings.Join(parts, "\n")
}

// block maps one content item; nil drops it.
func block(c mcp.Content) llm.Block {
	switch c := c.(type) {
	case *mcp.TextContent:
		return llm.Text{Text: c.Text}
	case *mcp.ImageContent:
		return image(c.MIMEType, c.Data, "image")
	case *mcp.AudioContent:
		return llm.Text{Text: fmt.Sprintf("[audio (%s, %d bytes) not shown]", orUnknown(c.MIMEType), len(c.Data))}
	case *mcp.ResourceLink:
		return llm.Text{Text: describeLink(c)}
	case *mcp.EmbeddedResource:
		return embedded(c.Resource)
	case nil:
		return nil
	}
	return llm.Text{Text: fmt.Sprintf("[content of type %T not shown]", c)}
}

// imageTypes are the image types models take.
var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// image is an llm.Image when models take its type and it has bytes, and
// text describing it otherwise.
func image(mime string, data []byte, what string) llm.Block {
	mime = strings.ToLower(strings.TrimSpace(mime))
	if imageTypes[mime] && len(data) > 0 {
		return llm.Image{MediaType: mime, Data: data}
	}
	return llm.Text{Text: fmt.Sprintf("[%s (%s, %d bytes) not shown: models take PNG, JPEG, GIF and WebP images]", what, orUnknown(mime), len(data))}
}

func embedded(r *mcp.ResourceContents) llm.Block {
	if r == nil {
		return nil
	}
	switch {
	case r.Text != "":
		head := "[resource " + r.URI
		if r.MIMEType != "" {
			head += " (" + r.MIMEType + ")"
		}
		return llm.Text{Text: head + "]\n" + r.Text}
	case strings.HasPrefix(strings.ToLower(r.MIMEType), "image/"):
		return image(r.MIMEType, r.Blob, "resource "+r.URI)
	}
	return llm.Text{Text: fmt.Sprintf("[resource %s (%s, %d bytes) not shown]", r.URI, orUnknown(r.MIMEType), len(r.Blob))}
}

func describeLink(l *mcp.ResourceLink) string {
	var b strings.Builder
	b.WriteString("[resource link: ")
	name := l.Title
	if name == "" {
		name = l.Name
	}
	if name != "" {
		b.WriteString(name + " ")
	}
	b.WriteString("<" + l.URI + ">")
	var facts []string
	if l.MIMEType != "" {
		facts = append(facts, l.MIMEType)
	}
	if l.Size != nil {
		facts = append(facts, fmt.Sprintf("%d bytes", *l.Size))
	}
	if len(facts) > 0 {
		b.WriteString(" (" + strings.Join(facts, ", ") + ")")
	}
	if l.Description != "" {
		b.WriteString(": " + l.Description)
	}
	b.WriteString("]")
	return b.String()
}

func orUnknown(mime string) string {
	if mime == "" {
		return "unknown type"
	}
	return mime
}
