package mcptool

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/integrations/llm"
)

// AddTools offers agent tools on an MCP server, so that a tool written
// once serves both an agent and any MCP client. Each tool is declared
// with its definition (name, description, input schema; a nil schema is
// an object with no declared properties) and called with the arguments
// as the client sent them: the tool checks them, as it does for a model.
//
// A call's result goes back as [ResultFromBlocks] makes it: text and
// images as MCP content, an *agent.ToolError as an error result (IsError)
// carrying its message, any other error as a JSON-RPC error. Context
// cancellation by the client (notifications/cancelled) reaches the tool.
//
// AddTools checks every tool before adding any, and fails if one has no
// name, a name taken by another of them, or an input schema that is not
// a JSON object of type "object" (the SDK would panic).
func AddTools(s *mcp.Server, tools ...agent.Tool) error {
	decls := make([]*mcp.Tool, len(tools))
	seen := map[string]bool{}
	for i, t := range tools {
		d, err := declaration(t.Definition())
		if err != nil {
			return err
		}
		if seen[d.Name] {
			return fmt.Errorf("mcptool: two tools are named %q", d.Name)
		}
		seen[d.Name] = true
		decls[i] = d
	}
	for i, t := range tools {
		s.AddTool(decls[i], handler(t))
	}
	return nil
}

// declaration is the MCP declaration of an agent tool.
func declaration(def llm.Tool) (*mcp.Tool, error) {
	if def.Name == "" {
		return nil, errors.New("mcptool: a tool has no name")
	}
	schema := def.InputSchema
	if len(schema) == 0 {
		schema = json.RawMessage(`{"type":"object"}`)
	}
	var probe struct {
		Type any `json:"type"`
	}
	if err := json.Unmarshal(schema, &probe); err != nil {
		return nil, fmt.Errorf("mcptool: tool %q: the input schema is not a JSON object: %w", def.Name, err)
	}
	if probe.Type != "object" {
		return nil, fmt.Errorf("mcptool: tool %q: the input schema's type is %v, and MCP wants \"object\"", def.Name, probe.Type)
	}
	return &mcp.Tool{Name: def.Name, Description: def.Description, InputSchema: schema}, nil
}

// handler calls t for each MCP call.
func handler(t agent.Tool) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args json.RawMessage
		if req.Params != nil {
			args = req.Params.Arguments
		}
		if len(args) == 0 {
			args = json.RawMessage("{}")
		}
		blocks, err := t.Call(ctx, args)
		return ResultFromBlocks(blocks, err)
	}
}

// ResultFromBlocks maps an agent tool's outcome to an MCP tool result:
//
//   - llm.Text becomes text content;
//   - llm.Image with bytes becomes image content (base64 on the wire);
//     one with a data URL too; one with another URL becomes a resource
//     link;
//   - an *agent.ToolError (or an error wrapping one) becomes a result
//     with IsError set whose text is the error's message, for the client's
//     model to read;
//   - any other error is returned as is: the SDK answers the call with a
//     JSON-RPC error, a failure of the server rather than of the tool.
//
// A tool call or tool result block cannot be part of a tool's result and
// is an error.
func ResultFromBlocks(blocks []llm.Block, err error) (*mcp.CallToolResult, error) {
	if err != nil {
		if te, ok := errors.AsType[*agent.ToolError](err); ok {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: te.Message}}}, nil
		}
		return nil, err
	}
	content := make([]mcp.Content, 0, len(blocks))
	for _, b := range blocks {
		c, err := mcpContent(b)
		if err != nil {
			return nil, err
		}
		content = append(content, c)
	}
	return &mcp.CallToolResult{Content: content}, nil
}

func mcpContent(b llm.Block) (mcp.Content, error) {
	switch b := b.(type) {
	case llm.Text:
		return &mcp.TextContent{Text: b.Text}, nil
	case llm.Image:
		if b.Data != nil || b.URL == "" {
			return &mcp.ImageContent{Data: b.Data, MIMEType: b.MediaType}, nil
		}
		if mime, data, ok := dataURL(b.URL); ok {
			return &mcp.ImageContent{Data: data, MIMEType: mime}, nil
		}
		return &mcp.ResourceLink{URI: b.URL, Name: "image", MIMEType: b.MediaType}, nil
	}
	return nil, fmt.Errorf("mcptool: a tool result cannot carry a %T block", b)
}

// dataURL decodes a base64 data URL.
func dataURL(u string) (mime string, data []byte, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", nil, false
	}
	meta, payload, found := strings.Cut(rest, ",")
	if !found {
		return "", nil, false
	}
	mime, found = strings.CutSuffix(meta, ";base64")
	if !found {
		return "", nil, false
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return "", nil, false
	}
	return mime, data, true
}
