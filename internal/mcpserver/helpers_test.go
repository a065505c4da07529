package mcpserver

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox/local"
)

var quiet = slog.New(slog.DiscardHandler)

// newServer returns a server on a local provider of its own, closed (with
// its sandboxes) when the test ends.
func newServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return newServerOn(t, nil, opts...)
}

// newServerOn is newServer with options for its local provider.
func newServerOn(t testing.TB, local_ []local.Option, opts ...Option) *Server {
	t.Helper()
	p, err := local.New(append([]local.Option{observability.WithLogger(quiet)}, local_...)...)
	if err != nil {
		t.Fatalf("local.New: %v", err)
	}
	srv := New(p, "test", append([]Option{observability.WithLogger(quiet)}, opts...)...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		p.Close()
	})
	return srv
}

// progressLog collects the progress notifications a client receives.
type progressLog struct {
	mu    sync.Mutex
	msgs  []string
	first time.Time
}

func (p *progressLog) handler(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.msgs) == 0 {
		p.first = time.Now()
	}
	p.msgs = append(p.msgs, req.Params.Message)
}

func (p *progressLog) text() (string, int, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.msgs, ""), len(p.msgs), p.first
}

func newClient(progress *progressLog) *mcp.Client {
	opts := &mcp.ClientOptions{}
	if progress != nil {
		opts.ProgressNotificationHandler = progress.handler
	}
	return mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1"}, opts)
}

// connect opens an in-memory client session on srv.
func connect(t testing.TB, srv *Server, progress *progressLog) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	ct, st := mcp.NewInMemoryTransports()
	if _, err := srv.MCP().Connect(ctx, st, nil); err != nil {
		t.Fatalf("server Connect: %v", err)
	}
	cs, err := newClient(progress).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatalf("client Connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// call calls a tool and fails the test on a protocol error.
func call(t testing.TB, cs *mcp.ClientSession, tool string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("CallTool(%s, %v): %v", tool, args, err)
	}
	return res
}

// decode reads a result's structured content into out, failing the test
// on a tool error.
func decode[T any](t testing.TB, res *mcp.CallToolResult) T {
	t.Helper()
	var out T
	if res.IsError {
		t.Fatalf("tool error: %s", resultText(res))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("structured content %s: %v", b, err)
	}
	return out
}

func run(t testing.TB, cs *mcp.ClientSession, code string) RunCodeOutput {
	t.Helper()
	return decode[RunCodeOutput](t, call(t, cs, ToolRunCode, map[string]any{"code": code}))
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// toolError calls a tool expecting a tool error, and returns its text.
func expectToolError(t testing.TB, cs *mcp.ClientSession, tool string, args map[string]any) string {
	t.Helper()
	res := call(t, cs, tool, args)
	if !res.IsError {
		t.Fatalf("%s(%v): want a tool error, got %s", tool, args, resultText(res))
	}
	return resultText(res)
}

// eventually polls cond until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// goroutinesBack waits until the goroutine count is back to base.
func goroutinesBack(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines left, want <= %d:\n%s", n, base, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pngCell is Python that builds a 2x2 red PNG with zlib and struct (no
// third-party package) and returns an object whose _repr_png_ gives it.
const pngCell = `import struct, zlib
def _chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
def tiny_png():
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")
class Picture:
    def _repr_png_(self):
        return tiny_png()
    def _repr_svg_(self):
        return '<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"/>'
Picture()
`
