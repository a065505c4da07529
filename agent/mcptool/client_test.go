package mcptool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/agent/mcptool"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/recovery"
)

// pngBytes encodes a small real PNG.
func pngBytes(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const echoSchema = `{"type":"object","properties":{"msg":{"type":"string","description":"what to say"},"n":{"type":"integer","minimum":1}},"required":["msg"]}`

// toolServer is a server with one tool of each kind the tests need.
type toolServer struct {
	*memServer
	png []byte

	mu       sync.Mutex
	lastArgs json.RawMessage

	slowStarted   chan struct{}
	slowCancelled chan struct{}
}

func newToolServer(t testing.TB, opts *mcp.ServerOptions) *toolServer {
	ts := &toolServer{
		memServer:     newMemServer(opts),
		png:           pngBytes(t),
		slowStarted:   make(chan struct{}, 1),
		slowCancelled: make(chan struct{}, 1),
	}
	s := ts.srv
	s.AddTool(&mcp.Tool{Name: "echo", Description: "Says msg back.", InputSchema: json.RawMessage(echoSchema)},
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			ts.mu.Lock()
			ts.lastArgs = append(json.RawMessage(nil), req.Params.Arguments...)
			ts.mu.Unlock()
			var in struct{ Msg string }
			_ = json.Unmarshal(req.Params.Arguments, &in)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "echo: " + in.Msg}}}, nil
		})
	s.AddTool(&mcp.Tool{Name: "picture", Description: "Draws.", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{
				&mcp.TextContent{Text: "a red dot"},
				&mcp.ImageContent{Data: ts.png, MIMEType: "image/png"},
				&mcp.ImageContent{Data: []byte("<svg/>"), MIMEType: "image/svg+xml"},
			}}, nil
		})
	s.AddTool(&mcp.Tool{Name: "fail", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{
				&mcp.TextContent{Text: "file not found: a.txt"},
				&mcp.TextContent{Text: "try b.txt"},
			}}, nil
		})
	s.AddTool(&mcp.Tool{Name: "stats", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{
				Content:           []mcp.Content{&mcp.ImageContent{Data: ts.png, MIMEType: "image/png"}},
				StructuredContent: map[string]any{"mean": 2.5, "count": 4},
			}, nil
		})
	s.AddTool(&mcp.Tool{Name: "stats_text", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{
				Content:           []mcp.Content{&mcp.TextContent{Text: `{"mean":2.5}`}},
				StructuredContent: map[string]any{"mean": 2.5},
			}, nil
		})
	type addIn struct {
		A int `json:"a"`
		B int `json:"b"`
	}
	type addOut struct {
		Sum int `json:"sum"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "add", Description: "Adds a and b."},
		func(_ context.Context, _ *mcp.CallToolRequest, in addIn) (*mcp.CallToolResult, addOut, error) {
			return nil, addOut{Sum: in.A + in.B}, nil
		})
	s.AddTool(&mcp.Tool{Name: "slow", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			ts.slowStarted <- struct{}{}
			select {
			case <-ctx.Done():
				ts.slowCancelled <- struct{}{}
				return nil, ctx.Err()
			case <-time.After(time.Minute):
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done"}}}, nil
			}
		})
	crash := func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ts.breakConn()
		<-ctx.Done()
		return nil, ctx.Err()
	}
	s.AddTool(&mcp.Tool{Name: "crash", InputSchema: json.RawMessage(`{"type":"object"}`)}, crash)
	s.AddTool(&mcp.Tool{Name: "crash_readonly", InputSchema: json.RawMessage(`{"type":"object"}`),
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}}, crash)
	s.AddTool(&mcp.Tool{Name: "broken", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return nil, errors.New("the database is gone")
		})
	return ts
}

func (ts *toolServer) args() json.RawMessage {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.lastArgs
}

func TestDefinitions(t *testing.T) {
	ts := newToolServer(t, nil)
	c := connect(t, ts.memServer)
	if c.Name() != "mem" {
		t.Errorf("Name = %q, want the server's own name mem", c.Name())
	}
	got := names(c.Tools())
	want := []string{"add", "broken", "crash", "crash_readonly", "echo", "fail", "picture", "slow", "stats", "stats_text"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tools = %v, want %v", got, want)
	}
	def := find(t, c, "echo").Definition()
	if def.Description != "Says msg back." {
		t.Errorf("description = %q", def.Description)
	}
	if !sameJSON(t, def.InputSchema, []byte(echoSchema)) {
		t.Errorf("schema = %s, want %s", def.InputSchema, echoSchema)
	}
	// The SDK infers the typed tool's schema; it reaches the model as the
	// server sent it.
	add := find(t, c, "add").Definition()
	var schema struct {
		Type       string
		Properties map[string]struct{ Type string }
	}
	if err := json.Unmarshal(add.InputSchema, &schema); err != nil {
		t.Fatal(err)
	}
	if schema.Type != "object" || schema.Properties["a"].Type != "integer" || schema.Properties["b"].Type != "integer" {
		t.Errorf("add schema = %s", add.InputSchema)
	}
}

func TestRenameAndFilter(t *testing.T) {
	ts := newToolServer(t, nil)
	c := connect(t, ts.memServer, mcptool.WithTools("echo", "add", "fail"), mcptool.WithPrefix("mem_"),
		mcptool.WithFilter(func(tool *mcp.Tool) bool { return tool.Name != "fail" }),
		mcptool.WithRename(func(name string) string { return strings.ToUpper(name) + ".v1" }))
	got := names(c.Tools())
	if fmt.Sprint(got) != "[mem_ADD_v1 mem_ECHO_v1]" {
		t.Fatalf("tools = %v, want [mem_ADD_v1 mem_ECHO_v1]", got)
	}
	// The renamed tool is still called by the server's name.
	blocks, err := call(t, find(t, c, "mem_ECHO_v1"), `{"msg":"hi"}`)
	if err != nil || text(blocks) != "echo: hi" {
		t.Fatalf("call = %v, %v", blocks, err)
	}

	ctx := context.Background()
	if _, err := mcptool.Connect(ctx, ts.transport(), mcptool.WithTools("echo", "nope")); err == nil || !strings.Contains(err.Error(), `no tool "nope"`) {
		t.Errorf("Connect with an unknown tool name: %v", err)
	}
	_, err = mcptool.Connect(ctx, ts.transport(), mcptool.WithRename(func(string) string { return "same" }))
	if err == nil || !strings.Contains(err.Error(), `both named "same"`) {
		t.Errorf("Connect with colliding names: %v", err)
	}
}

func TestArgumentsPassedAsGiven(t *testing.T) {
	ts := newToolServer(t, nil)
	echo := find(t, connect(t, ts.memServer), "echo")
	args := `{"msg":"hi","extra":[1,2,{"deep":true}]}`
	blocks, err := call(t, echo, args)
	if err != nil {
		t.Fatal(err)
	}
	if text(blocks) != "echo: hi" {
		t.Errorf("text = %q", text(blocks))
	}
	if !sameJSON(t, ts.args(), []byte(args)) {
		t.Errorf("server got %s, want %s", ts.args(), args)
	}
	// Empty arguments are an empty object.
	if _, err := call(t, echo, ``); err != nil {
		t.Fatal(err)
	}
	if string(ts.args()) != "{}" {
		t.Errorf("empty arguments reached the server as %s", ts.args())
	}

	before := ts.count("tools/call")
	for _, bad := range []string{`[1,2]`, `"msg"`, `42`, `{"msg":`, `{"a":1}x`} {
		_, err := call(t, echo, bad)
		te := toolError(t, err)
		if !strings.Contains(te.Message, "JSON object") {
			t.Errorf("%s: message %q", bad, te.Message)
		}
	}
	if n := ts.count("tools/call"); n != before {
		t.Errorf("arguments that are not an object reached the server (%d calls)", n-before)
	}
}

func TestImages(t *testing.T) {
	ts := newToolServer(t, nil)
	blocks, err := call(t, find(t, connect(t, ts.memServer), "picture"), `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 3 {
		t.Fatalf("blocks = %#v", blocks)
	}
	if b, ok := blocks[0].(llm.Text); !ok || b.Text != "a red dot" {
		t.Errorf("block 0 = %#v", blocks[0])
	}
	img, ok := blocks[1].(llm.Image)
	if !ok {
		t.Fatalf("block 1 = %#v, want an llm.Image", blocks[1])
	}
	if img.MediaType != "image/png" || !bytes.Equal(img.Data, ts.png) {
		t.Errorf("image = %s, %d bytes; want image/png, the %d bytes sent", img.MediaType, len(img.Data), len(ts.png))
	}
	if _, err := png.Decode(bytes.NewReader(img.Data)); err != nil {
		t.Errorf("the image's bytes are not a PNG: %v", err)
	}
	svg, ok := blocks[2].(llm.Text)
	if !ok || !strings.Contains(svg.Text, "image/svg+xml") || !strings.Contains(svg.Text, "not shown") {
		t.Errorf("block 2 = %#v, want text describing the SVG", blocks[2])
	}
}

func TestErrorResult(t *testing.T) {
	ts := newToolServer(t, nil)
	_, err := call(t, find(t, connect(t, ts.memServer), "fail"), `{}`)
	te := toolError(t, err)
	if te.Message != "file not found: a.txt\ntry b.txt" {
		t.Errorf("message = %q", te.Message)
	}
}

func TestStructuredContent(t *testing.T) {
	ts := newToolServer(t, nil)
	c := connect(t, ts.memServer)
	blocks, err := call(t, find(t, c, "stats"), `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 {
		t.Fatalf("blocks = %#v, want the image and the JSON", blocks)
	}
	if _, ok := blocks[0].(llm.Image); !ok {
		t.Errorf("block 0 = %#v", blocks[0])
	}
	if !sameJSON(t, []byte(text(blocks)), []byte(`{"count":4,"mean":2.5}`)) {
		t.Errorf("structured content as text = %q", text(blocks))
	}
	// With text content, the structured content is not repeated.
	blocks, err = call(t, find(t, c, "stats_text"), `{}`)
	if err != nil || len(blocks) != 1 || text(blocks) != `{"mean":2.5}` {
		t.Errorf("stats_text = %#v, %v", blocks, err)
	}
	// The SDK's typed tools send both; the model gets the text once.
	blocks, err = call(t, find(t, c, "add"), `{"a":2,"b":3}`)
	if err != nil || len(blocks) != 1 || !sameJSON(t, []byte(text(blocks)), []byte(`{"sum":5}`)) {
		t.Errorf("add = %#v, %v", blocks, err)
	}
}

func TestArgumentsTheServerRefuses(t *testing.T) {
	ts := newToolServer(t, nil)
	c := connect(t, ts.memServer)
	// The SDK checks a typed tool's arguments and answers an error result.
	_, err := call(t, find(t, c, "add"), `{"a":"two","b":3}`)
	if te := toolError(t, err); !strings.Contains(te.Message, "a") {
		t.Errorf("message = %q", te.Message)
	}
	// A tool the server no longer has is an "invalid params" answer, which
	// the model reads as an error result too.
	ts.srv.RemoveTools("echo")
	_, err = call(t, find(t, c, "echo"), `{"msg":"x"}`)
	te := toolError(t, err)
	if !strings.Contains(te.Message, `unknown tool "echo"`) {
		t.Errorf("message = %q", te.Message)
	}
	if se, ok := errors.AsType[*mcptool.ServerError](err); !ok || se.Code != -32602 {
		t.Errorf("the tool error does not keep the server's answer: %#v", te.Err)
	}
}

func TestServerErrorIsNotAToolError(t *testing.T) {
	ts := newToolServer(t, nil)
	_, err := call(t, find(t, connect(t, ts.memServer), "broken"), `{}`)
	if _, ok := errors.AsType[*agent.ToolError](err); ok {
		t.Fatalf("a server's error answer became a tool error: %v", err)
	}
	se, ok := errors.AsType[*mcptool.ServerError](err)
	if !ok {
		t.Fatalf("error %v (%T), want a *ServerError", err, err)
	}
	if !strings.Contains(se.Message, "the database is gone") || se.Op != "call broken" || se.Server != "mem" {
		t.Errorf("ServerError = %+v", se)
	}
	if recovery.IsRetryable(err) {
		t.Error("a server's error answer is retryable")
	}
}

func TestCancelReachesServer(t *testing.T) {
	ts := newToolServer(t, nil)
	slow := find(t, connect(t, ts.memServer), "slow")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := slow.Call(ctx, json.RawMessage(`{}`))
		done <- err
	}()
	<-ts.slowStarted
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if _, ok := errors.AsType[*agent.ToolError](err); ok {
			t.Error("a cancelled call is a tool error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled call did not return")
	}
	select {
	case <-ts.slowCancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the server's handler was not cancelled (no notifications/cancelled)")
	}
}

func TestServerDiesMidCall(t *testing.T) {
	ts := newToolServer(t, nil)
	c := connect(t, ts.memServer)
	_, err := call(t, find(t, c, "crash"), `{}`)
	if _, ok := errors.AsType[*agent.ToolError](err); ok {
		t.Fatalf("a lost connection became a tool error: %v", err)
	}
	ce, ok := errors.AsType[*mcptool.ConnectionError](err)
	if !ok {
		t.Fatalf("error %v (%T), want a *ConnectionError", err, err)
	}
	if !ce.InFlight || ce.Op != "call crash" || !errors.Is(err, mcptool.ErrConnection) {
		t.Errorf("ConnectionError = %+v", ce)
	}
	if recovery.IsRetryable(err) {
		t.Error("a call the server may have run is retryable, though the tool says nothing of being idempotent")
	}
	// The next call connects again.
	blocks, err := call(t, find(t, c, "echo"), `{"msg":"again"}`)
	if err != nil || text(blocks) != "echo: again" {
		t.Fatalf("call after the loss = %v, %v", blocks, err)
	}
	if n := ts.dials.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
	// A read-only tool may be called again.
	_, err = call(t, find(t, c, "crash_readonly"), `{}`)
	if ce, ok := errors.AsType[*mcptool.ConnectionError](err); !ok || !ce.InFlight || !recovery.IsRetryable(err) {
		t.Errorf("read-only tool lost in flight: %v (retryable %v)", err, recovery.IsRetryable(err))
	}
}

func TestLostConnectionBetweenCalls(t *testing.T) {
	ts := newToolServer(t, nil)
	c := connect(t, ts.memServer)
	echo := find(t, c, "echo")
	if _, err := call(t, echo, `{"msg":"1"}`); err != nil {
		t.Fatal(err)
	}
	ts.breakConn()
	// Whether the client noticed the loss before the call or the call
	// found the connection closed, the server never had the request: it
	// goes on a new connection.
	blocks, err := call(t, echo, `{"msg":"2"}`)
	if err != nil || text(blocks) != "echo: 2" {
		t.Fatalf("call after the loss = %v, %v", blocks, err)
	}
	if n := ts.dials.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestPagination(t *testing.T) {
	m := newMemServer(&mcp.ServerOptions{PageSize: 2})
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("t%d", i)
		want = append(want, name)
		m.srv.AddTool(&mcp.Tool{Name: name, InputSchema: json.RawMessage(`{"type":"object"}`)},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name}}}, nil
			})
	}
	c := connect(t, m)
	if got := names(c.Tools()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tools = %v, want %v", got, want)
	}
	if n := m.count("tools/list"); n != 4 {
		t.Errorf("%d tools/list requests, want 4 pages of 2", n)
	}
	blocks, err := call(t, find(t, c, "t6"), `{}`)
	if err != nil || text(blocks) != "t6" {
		t.Errorf("t6 = %v, %v", blocks, err)
	}
}

func TestClose(t *testing.T) {
	ts := newToolServer(t, nil)
	c := connect(t, ts.memServer)
	slow := find(t, c, "slow")
	done := make(chan error, 1)
	go func() {
		_, err := slow.Call(context.Background(), json.RawMessage(`{}`))
		done <- err
	}()
	<-ts.slowStarted
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, mcptool.ErrClosed) || recovery.IsRetryable(err) {
			t.Errorf("call cut by Close: %v (retryable %v), want ErrClosed, not retryable", err, recovery.IsRetryable(err))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the call in progress")
	}
	select {
	case <-ts.slowCancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the server's handler was not cancelled")
	}
	_, err := call(t, find(t, c, "echo"), `{"msg":"x"}`)
	if !errors.Is(err, mcptool.ErrClosed) {
		t.Errorf("call after Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	ts := newToolServer(t, nil)
	echo := find(t, connect(t, ts.memServer), "echo")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			msg := fmt.Sprint(i)
			blocks, err := call(t, echo, `{"msg":"`+msg+`"}`)
			if err == nil && text(blocks) != "echo: "+msg {
				err = fmt.Errorf("call %d got %q", i, text(blocks))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestConnectFailures(t *testing.T) {
	ctx := context.Background()
	_, err := mcptool.Connect(ctx, mcptool.Stdio{Command: "/nonexistent/mcp-server"})
	ce, ok := errors.AsType[*mcptool.ConnectionError](err)
	if !ok || ce.Op != "connect" || recovery.IsRetryable(err) {
		t.Errorf("missing command: %v (retryable %v)", err, recovery.IsRetryable(err))
	}
	// A program that is not an MCP server: its stdout ends at once.
	_, err = mcptool.Connect(ctx, mcptool.Stdio{Command: "true"})
	if _, ok := errors.AsType[*mcptool.ConnectionError](err); !ok || !recovery.IsRetryable(err) {
		t.Errorf("server that exits: %v (retryable %v)", err, recovery.IsRetryable(err))
	}
	_, err = mcptool.Connect(ctx, mcptool.HTTP{URL: "ftp://example.com/"})
	if !errors.Is(err, mcptool.ErrConnection) || recovery.IsRetryable(err) {
		t.Errorf("bad URL: %v", err)
	}
}

func TestConnectCancelled(t *testing.T) {
	ts := newToolServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := mcptool.Connect(ctx, ts.transport())
	if !errors.Is(err, context.Canceled) || recovery.IsRetryable(err) {
		t.Errorf("Connect with a cancelled context: %v (retryable %v)", err, recovery.IsRetryable(err))
	}
}
