package mcptool_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/agent/mcptool"
	"github.com/ttadev/primitives/integrations/llm"
)

// funcTool is an agent.Tool made of a definition and a function.
type funcTool struct {
	def llm.Tool
	fn  func(context.Context, json.RawMessage) ([]llm.Block, error)
}

func (f funcTool) Definition() llm.Tool { return f.def }
func (f funcTool) Call(ctx context.Context, args json.RawMessage) ([]llm.Block, error) {
	return f.fn(ctx, args)
}

// agentTools are tools written once for an agent, offered over MCP.
func agentTools(t testing.TB, started, cancelled chan struct{}) []agent.Tool {
	img := pngBytes(t)
	return []agent.Tool{
		funcTool{
			def: llm.Tool{Name: "sum", Description: "Adds the numbers.", InputSchema: json.RawMessage(`{"type":"object","properties":{"xs":{"type":"array","items":{"type":"number"}}},"required":["xs"]}`)},
			fn: func(_ context.Context, args json.RawMessage) ([]llm.Block, error) {
				var in struct{ Xs []float64 }
				if err := json.Unmarshal(args, &in); err != nil || in.Xs == nil {
					return nil, &agent.ToolError{Message: "xs must be an array of numbers", Err: err}
				}
				s := 0.0
				for _, x := range in.Xs {
					s += x
				}
				return []llm.Block{llm.Text{Text: fmt.Sprint(s)}}, nil
			},
		},
		funcTool{
			def: llm.Tool{Name: "draw", Description: "Draws a dot."},
			fn: func(context.Context, json.RawMessage) ([]llm.Block, error) {
				return []llm.Block{
					llm.Text{Text: "here"},
					llm.Image{MediaType: "image/png", Data: img},
					llm.Image{URL: "data:image/png;base64," + base64.StdEncoding.EncodeToString(img)},
					llm.Image{URL: "https://example.com/dot.png", MediaType: "image/png"},
				}, nil
			},
		},
		funcTool{
			def: llm.Tool{Name: "store", Description: "Stores."},
			fn: func(context.Context, json.RawMessage) ([]llm.Block, error) {
				return nil, fmt.Errorf("store: %w", errors.New("disk full"))
			},
		},
		funcTool{
			def: llm.Tool{Name: "wait", Description: "Waits."},
			fn: func(ctx context.Context, _ json.RawMessage) ([]llm.Block, error) {
				started <- struct{}{}
				<-ctx.Done()
				cancelled <- struct{}{}
				return nil, ctx.Err()
			},
		},
	}
}

func TestAddToolsWire(t *testing.T) {
	// An SDK client sees the agent tools as MCP tools and results.
	m := newMemServer(nil)
	if err := mcptool.AddTools(m.srv, agentTools(t, make(chan struct{}, 1), make(chan struct{}, 1))...); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tr, _ := m.transport()(ctx)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	list, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*mcp.Tool{}
	for _, tool := range list.Tools {
		byName[tool.Name] = tool
	}
	if len(byName) != 4 || byName["sum"] == nil || byName["sum"].Description != "Adds the numbers." || byName["draw"] == nil {
		t.Fatalf("tools = %v", byName)
	}
	schema, _ := json.Marshal(byName["sum"].InputSchema)
	if !strings.Contains(string(schema), `"required":["xs"]`) {
		t.Errorf("sum schema = %s", schema)
	}
	// A tool with no schema is declared with an empty object schema.
	schema, _ = json.Marshal(byName["draw"].InputSchema)
	if string(schema) != `{"type":"object"}` {
		t.Errorf("draw schema = %s", schema)
	}

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "sum", Arguments: map[string]any{"xs": []float64{1, 2, 3.5}}})
	if err != nil || res.IsError || len(res.Content) != 1 || res.Content[0].(*mcp.TextContent).Text != "6.5" {
		t.Fatalf("sum = %+v, %v", res, err)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "sum", Arguments: map[string]any{"ys": 1}})
	if err != nil || !res.IsError || res.Content[0].(*mcp.TextContent).Text != "xs must be an array of numbers" {
		t.Fatalf("sum with bad arguments = %+v, %v", res, err)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "draw"})
	if err != nil || len(res.Content) != 4 {
		t.Fatalf("draw = %+v, %v", res, err)
	}
	for i := 1; i <= 2; i++ {
		ic, ok := res.Content[i].(*mcp.ImageContent)
		if !ok || ic.MIMEType != "image/png" || !bytes.Equal(ic.Data, pngBytes(t)) {
			t.Errorf("content %d = %#v, want the PNG as image content", i, res.Content[i])
		}
	}
	if rl, ok := res.Content[3].(*mcp.ResourceLink); !ok || rl.URI != "https://example.com/dot.png" {
		t.Errorf("content 3 = %#v, want a resource link", res.Content[3])
	}
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "store"})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("store: %v, want a JSON-RPC error", err)
	}
}

func TestAddToolsRoundTrip(t *testing.T) {
	// Agent tools → MCP server → mcptool.Client → agent tools again.
	started, cancelled := make(chan struct{}, 1), make(chan struct{}, 1)
	m := newMemServer(nil)
	if err := mcptool.AddTools(m.srv, agentTools(t, started, cancelled)...); err != nil {
		t.Fatal(err)
	}
	c := connect(t, m)
	blocks, err := call(t, find(t, c, "sum"), `{"xs":[2,2]}`)
	if err != nil || text(blocks) != "4" {
		t.Fatalf("sum = %v, %v", blocks, err)
	}
	_, err = call(t, find(t, c, "sum"), `{"xs":"no"}`)
	if te := toolError(t, err); te.Message != "xs must be an array of numbers" {
		t.Errorf("message = %q", te.Message)
	}
	blocks, err = call(t, find(t, c, "draw"), `{}`)
	if err != nil || len(blocks) != 4 {
		t.Fatalf("draw = %#v, %v", blocks, err)
	}
	if img, ok := blocks[1].(llm.Image); !ok || !bytes.Equal(img.Data, pngBytes(t)) {
		t.Errorf("block 1 = %#v", blocks[1])
	}
	if link, ok := blocks[3].(llm.Text); !ok || !strings.Contains(link.Text, "https://example.com/dot.png") {
		t.Errorf("block 3 = %#v", blocks[3])
	}
	_, err = call(t, find(t, c, "store"), `{}`)
	if se, ok := errors.AsType[*mcptool.ServerError](err); !ok || !strings.Contains(se.Message, "disk full") {
		t.Errorf("store: %v (%T), want a ServerError", err, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := find(t, c, "wait").Call(ctx, json.RawMessage(`{}`))
		done <- err
	}()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("wait: %v", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the agent tool's context was not cancelled")
	}
}

func TestAddToolsChecks(t *testing.T) {
	ok := funcTool{def: llm.Tool{Name: "ok"}}
	for _, tc := range []struct {
		name  string
		tools []agent.Tool
		want  string
	}{
		{"no name", []agent.Tool{funcTool{}}, "no name"},
		{"same name", []agent.Tool{ok, ok}, `two tools are named "ok"`},
		{"array schema", []agent.Tool{funcTool{def: llm.Tool{Name: "a", InputSchema: json.RawMessage(`{"type":"array"}`)}}}, `"object"`},
		{"not JSON", []agent.Tool{funcTool{def: llm.Tool{Name: "b", InputSchema: json.RawMessage(`{`)}}}, "not a JSON object"},
	} {
		s := mcp.NewServer(&mcp.Implementation{Name: "s", Version: "1"}, nil)
		err := mcptool.AddTools(s, append([]agent.Tool{funcTool{def: llm.Tool{Name: "first"}}}, tc.tools...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := mcptool.ResultFromBlocks([]llm.Block{llm.ToolCall{Name: "x"}}, nil); err == nil {
		t.Error("a tool call block became MCP content")
	}
	// The error result is found through wrapping.
	res, err := mcptool.ResultFromBlocks(nil, fmt.Errorf("wrapped: %w", &agent.ToolError{Message: "no such file"}))
	if err != nil || !res.IsError || res.Content[0].(*mcp.TextContent).Text != "no such file" {
		t.Errorf("wrapped tool error = %+v, %v", res, err)
	}
}

func TestBlocksFromResult(t *testing.T) {
	img := pngBytes(t)
	size := int64(2048)
	blocks, err := mcptool.BlocksFromResult(&mcp.CallToolResult{Content: []mcp.Content{
		&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "file:///notes.md", MIMEType: "text/markdown", Text: "# Notes\nhello"}},
		&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "file:///dot.png", MIMEType: "image/png", Blob: img}},
		&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "file:///a.pdf", MIMEType: "application/pdf", Blob: []byte("%PDF-1.7")}},
		&mcp.AudioContent{MIMEType: "audio/wav", Data: []byte("RIFF....")},
		&mcp.ResourceLink{URI: "https://example.com/r.csv", Name: "r.csv", MIMEType: "text/csv", Size: &size, Description: "the readings"},
		&mcp.ImageContent{MIMEType: "IMAGE/JPEG", Data: []byte{0xff, 0xd8, 0xff}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Block{
		llm.Text{Text: "[resource file:///notes.md (text/markdown)]\n# Notes\nhello"},
		llm.Image{MediaType: "image/png", Data: img},
		llm.Text{Text: "[resource file:///a.pdf (application/pdf, 8 bytes) not shown]"},
		llm.Text{Text: "[audio (audio/wav, 8 bytes) not shown]"},
		llm.Text{Text: "[resource link: r.csv <https://example.com/r.csv> (text/csv, 2048 bytes): the readings]"},
		llm.Image{MediaType: "image/jpeg", Data: []byte{0xff, 0xd8, 0xff}},
	}
	if fmt.Sprintf("%#v", blocks) != fmt.Sprintf("%#v", want) {
		t.Errorf("blocks =\n%#v\nwant\n%#v", blocks, want)
	}

	_, err = mcptool.BlocksFromResult(&mcp.CallToolResult{IsError: true})
	if te := toolError(t, err); te.Message == "" {
		t.Error("an error result without text has an empty message")
	}
	_, err = mcptool.BlocksFromResult(&mcp.CallToolResult{IsError: true, StructuredContent: map[string]any{"code": "E42"}})
	if te := toolError(t, err); te.Message != `{"code":"E42"}` {
		t.Errorf("error result with structured content: %q", te.Message)
	}
}
