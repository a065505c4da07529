package mcptool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/integrations/llm"
)

// remoteTool is one tool of an MCP server, as an agent.Tool.
type remoteTool struct {
	c      *Client
	def    llm.Tool
	remote string // its name on the server
	// safe: the server says the tool is read-only or idempotent, so a
	// call lost in flight may be made again.
	safe bool
}

func newRemoteTool(c *Client, name string, t *mcp.Tool) (*remoteTool, error) {
	rt := &remoteTool{c: c, remote: t.Name, def: llm.Tool{Name: name, Description: t.Description}}
	if rt.def.Description == "" {
		rt.def.Description = t.Title
	}
	if t.InputSchema != nil {
		// The client holds the server's schema decoded: encode it again,
		// unchanged but for the order of object keys.
		raw, err := json.Marshal(t.InputSchema)
		if err != nil {
			return nil, fmt.Errorf("mcptool: %s: tool %q: input schema: %w", c.name, t.Name, err)
		}
		rt.def.InputSchema = raw
	}
	if a := t.Annotations; a != nil {
		rt.safe = a.ReadOnlyHint || a.IdempotentHint
	}
	return rt, nil
}

// Definition returns the tool as the server declares it, under its name
// for the model.
func (t *remoteTool) Definition() llm.Tool { return t.def }

// Call calls the tool on the server with args as they are (the server
// checks them against its schema) and maps the result (see
// [BlocksFromResult]). Arguments that are not a JSON object, an "invalid
// params" answer (unknown tool, arguments the server refuses) and an
// error result are an *agent.ToolError; a lost connection is a
// *ConnectionError, another error answer a *ServerError.
func (t *remoteTool) Call(ctx context.Context, args json.RawMessage) ([]llm.Block, error) {
	args, err := objectArgs(args)
	if err != nil {
		return nil, err
	}
	res, err := t.c.call(ctx, t.remote, args, t.safe)
	if err != nil {
		if se, ok := errors.AsType[*ServerError](err); ok && se.Code == jsonrpc.CodeInvalidParams {
			return nil, &agent.ToolError{Message: se.Message, Err: err}
		}
		return nil, err
	}
	return BlocksFromResult(res)
}

// objectArgs checks that args is a JSON object; empty or null arguments
// mean an empty object.
func objectArgs(args json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(args)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return json.RawMessage("{}"), nil
	}
	if trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, &agent.ToolError{Message: "the arguments must be a JSON object"}
	}
	return trimmed, nil
}

// toolName makes name one that model APIs accept: letters, digits, '_'
// and '-', at most 64 characters; any other character becomes '_'.
func toolName(name string) string {
	b := []byte(name)
	out := b[:0]
	for _, r := range name {
		if len(out) == 64 {
			break
		}
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			out = append(out, byte(r))
		} else {
			out = append(out, '_')
		}
	}
	if len(out) == 0 {
		return "_"
	}
	return string(out)
}
