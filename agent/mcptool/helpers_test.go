package mcptool_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/agent/mcptool"
	"github.com/ttadev/primitives/integrations/llm"
)

// memServer is an SDK server reached through in-memory transports, a new
// pair for each connection the Client makes. It counts the requests it
// receives and can break its current connection, as a server that dies.
type memServer struct {
	srv *mcp.Server

	mu   sync.Mutex
	conn mcp.Connection // the server's side of the latest connection

	dials    atomic.Int32
	requests sync.Map // method → *atomic.Int32
}

func newMemServer(opts *mcp.ServerOptions) *memServer {
	m := &memServer{srv: mcp.NewServer(&mcp.Implementation{Name: "mem", Version: "1"}, opts)}
	m.srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			n, _ := m.requests.LoadOrStore(method, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
			return next(ctx, method, req)
		}
	})
	return m
}

// count is how many requests of method the server received.
func (m *memServer) count(method string) int {
	if n, ok := m.requests.Load(method); ok {
		return int(n.(*atomic.Int32).Load())
	}
	return 0
}

// transport is the Client's way to this server.
func (m *memServer) transport() mcptool.Transport {
	return func(ctx context.Context) (mcp.Transport, error) {
		ct, st := mcp.NewInMemoryTransports()
		if _, err := m.srv.Connect(ctx, capture{st, m}, nil); err != nil {
			return nil, err
		}
		m.dials.Add(1)
		return ct, nil
	}
}

// breakConn closes the server's side of the current connection: the
// client reads the end of its stream, as when a server process dies.
func (m *memServer) breakConn() {
	m.mu.Lock()
	c := m.conn
	m.mu.Unlock()
	_ = c.Close()
}

// capture records the server's side of a connection.
type capture struct {
	t mcp.Transport
	m *memServer
}

func (c capture) Connect(ctx context.Context) (mcp.Connection, error) {
	conn, err := c.t.Connect(ctx)
	if err == nil {
		c.m.mu.Lock()
		c.m.conn = conn
		c.m.mu.Unlock()
	}
	return conn, err
}

// connect connects a Client to m and closes it when the test ends.
func connect(t testing.TB, m *memServer, opts ...mcptool.Option) *mcptool.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := mcptool.Connect(ctx, m.transport(), opts...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// find returns the tool named name for the model.
func find(t testing.TB, c *mcptool.Client, name string) agent.Tool {
	t.Helper()
	for _, tool := range c.Tools() {
		if tool.Definition().Name == name {
			return tool
		}
	}
	t.Fatalf("no tool %q among %v", name, names(c.Tools()))
	return nil
}

func names(tools []agent.Tool) []string {
	var out []string
	for _, t := range tools {
		out = append(out, t.Definition().Name)
	}
	return out
}

// call calls tool with args (a JSON text) under a 10 s limit.
func call(t testing.TB, tool agent.Tool, args string) ([]llm.Block, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return tool.Call(ctx, json.RawMessage(args))
}

// text joins the text blocks.
func text(blocks []llm.Block) string {
	var s string
	for _, b := range blocks {
		if t, ok := b.(llm.Text); ok {
			s += t.Text
		}
	}
	return s
}

// toolError returns err's *agent.ToolError, failing the test if it has none.
func toolError(t testing.TB, err error) *agent.ToolError {
	t.Helper()
	te, ok := errors.AsType[*agent.ToolError](err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *agent.ToolError", err, err)
	}
	return te
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
