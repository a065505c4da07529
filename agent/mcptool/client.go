package mcptool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/agent"
)

// Client is a connection to one MCP server, whose tools it offers as
// agent tools. It is safe for concurrent use.
//
// It is an io.Closer: whoever owns the agent run closes it when the run
// is over (the tools stop working then). Close ends the server's process
// for [Stdio] and the session for [HTTP].
//
// When the connection is lost (the server exited, the session expired),
// the next call connects again, and a call that had not reached the
// server is sent on the new connection. A call the server may have run is
// not sent again: it fails with a *ConnectionError.
type Client struct {
	server Server
	cfg    config
	client *mcp.Client
	name   string
	tools  []agent.Tool

	// life is done once Close starts: it ends calls and connections in
	// progress.
	life context.Context
	end  context.CancelFunc

	mu       sync.Mutex
	cur      *session // nil between a lost connection and the next
	closed   bool
	dialMu   sync.Mutex     // one connection is made at a time
	retiring sync.WaitGroup // lost connections being shut down
}

var _ io.Closer = (*Client)(nil)

// session is one connection to the server.
type session struct {
	cs   *mcp.ClientSession
	link *link
	done chan struct{} // closed when the connection has ended

	closeOnce sync.Once
}

func (s *session) dead() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// close ends the connection: the process first (stdin, SIGTERM,
// SIGKILL), so that no request in flight can hold the session open.
func (s *session) close() {
	s.closeOnce.Do(func() {
		if s.link.proc != nil {
			_ = s.link.proc.stop()
		}
		_ = s.cs.Close()
	})
}

// Connect connects to server, initializes the MCP session and lists the
// server's tools (all pages), which [Client.Tools] then returns. ctx
// bounds the connection and the listing, not the Client's life.
//
// It fails with a *ConnectionError when the server cannot be started or
// reached, a *ServerError when it answers the listing with an error, and
// an error naming the tool when two tools would have the same name.
func Connect(ctx context.Context, server Server, opts ...Option) (*Client, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	c := &Client{
		server: server,
		cfg:    cfg,
		client: mcp.NewClient(&mcp.Implementation{Name: "github.com/ttadev/primitives/agent/mcptool", Version: moduleVersion()},
			// The client offers nothing to the server (no roots, no
			// sampling), and needs no keepalive: calls find a dead
			// connection themselves.
			&mcp.ClientOptions{Capabilities: &mcp.ClientCapabilities{}}),
		name: cfg.name,
	}
	if c.name == "" {
		c.name = server.label()
	}
	c.life, c.end = context.WithCancel(context.Background())
	s, err := c.dial(ctx)
	if err != nil {
		c.end()
		return nil, err
	}
	c.cur = s
	if cfg.name == "" {
		if info := s.cs.InitializeResult(); info != nil && info.ServerInfo != nil && info.ServerInfo.Name != "" {
			c.name = info.ServerInfo.Name
		}
	}
	tools, err := c.list(ctx, s)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	c.tools = tools
	return c, nil
}

// Name is the server's name as errors give it.
func (c *Client) Name() string { return c.name }

// Tools returns the server's tools as Connect listed them, filtered and
// renamed by the options, in the server's order. Each is an agent.Tool
// whose definition is the server's (name, description, input schema) and
// whose Call calls the server.
func (c *Client) Tools() []agent.Tool { return append([]agent.Tool(nil), c.tools...) }

// Close ends the connection: calls in progress return an error matching
// ErrClosed, the stdio server's process is stopped (stdin closed, then
// SIGTERM, then SIGKILL to its process group, each after the
// StopTimeout) and reaped, and the HTTP session is deleted. It returns
// once all of it is done. Close is idempotent; later calls of the tools
// fail with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.retiring.Wait()
		return nil
	}
	c.closed = true
	s := c.cur
	c.cur = nil
	c.mu.Unlock()
	c.end()
	// A connection being made sees the end and gives up; wait for it, so
	// that no process is started after Close returns.
	c.dialMu.Lock()
	c.dialMu.Unlock()
	if s != nil {
		s.close()
	}
	c.retiring.Wait()
	return nil
}

// session returns the live connection, making a new one if there is none.
func (c *Client) session(ctx context.Context, op string) (*session, error) {
	if s, err := c.current(op); s != nil || err != nil {
		return s, err
	}
	c.dialMu.Lock()
	defer c.dialMu.Unlock()
	if s, err := c.current(op); s != nil || err != nil {
		return s, err
	}
	s, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		s.close()
		return nil, c.closedError(op)
	}
	c.cur = s
	c.mu.Unlock()
	return s, nil
}

// current returns the live connection, or nil after retiring a dead one.
func (c *Client) current(op string) (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, c.closedError(op)
	}
	s := c.cur
	if s == nil {
		return nil, nil
	}
	if s.dead() {
		c.retireLocked(s)
		return nil, nil
	}
	return s, nil
}

// drop retires s if it is still the current connection.
func (c *Client) drop(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == s {
		c.retireLocked(s)
	}
}

func (c *Client) retireLocked(s *session) {
	c.cur = nil
	c.retiring.Add(1)
	go func() {
		defer c.retiring.Done()
		s.close()
	}()
}

// dial makes a connection and initializes its session.
func (c *Client) dial(ctx context.Context) (*session, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.life, cancel)()
	l, err := c.server.open(ctx)
	if err != nil {
		return nil, c.connectError(ctx, l, err)
	}
	if watchable(l.transport) {
		l.transport, l.watched = watchedTransport{l.transport}, true
	}
	cs, err := c.client.Connect(ctx, l.transport, nil)
	if err != nil {
		if l.proc != nil {
			_ = l.proc.stop()
		}
		return nil, c.connectError(ctx, l, err)
	}
	s := &session{cs: cs, link: l, done: make(chan struct{})}
	go func() {
		_ = cs.Wait()
		close(s.done)
	}()
	return s, nil
}

func (c *Client) connectError(ctx context.Context, l *link, err error) error {
	if c.life.Err() != nil {
		return c.closedError("connect")
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	e := &ConnectionError{Server: c.name, Op: "connect", Err: err}
	var se *startError
	if errors.As(err, &se) {
		e.permanent = se.fixed
	}
	if l != nil && l.status != nil {
		e.Status = int(l.status.Load())
	}
	return e
}

func (c *Client) closedError(op string) error {
	return &ConnectionError{Server: c.name, Op: op, Err: ErrClosed}
}

// list lists the server's tools, following the pages.
func (c *Client) list(ctx context.Context, s *session) ([]agent.Tool, error) {
	var tools []agent.Tool
	seen := map[string]string{}
	found := map[string]bool{}
	for t, err := range s.cs.Tools(ctx, nil) {
		if err != nil {
			return nil, c.requestError(ctx, "list tools", err, false)
		}
		found[t.Name] = true
		if !c.keep(t) {
			continue
		}
		name := c.modelName(t.Name)
		if other, dup := seen[name]; dup {
			return nil, fmt.Errorf("mcptool: %s: tools %q and %q are both named %q for the model; use WithRename or WithFilter", c.name, other, t.Name, name)
		}
		seen[name] = t.Name
		rt, err := newRemoteTool(c, name, t)
		if err != nil {
			return nil, err
		}
		tools = append(tools, rt)
	}
	for _, n := range c.cfg.only {
		if !found[n] {
			return nil, fmt.Errorf("mcptool: %s: the server has no tool %q", c.name, n)
		}
	}
	return tools, nil
}

func (c *Client) keep(t *mcp.Tool) bool {
	if len(c.cfg.only) > 0 {
		ok := false
		for _, n := range c.cfg.only {
			ok = ok || n == t.Name
		}
		if !ok {
			return false
		}
	}
	for _, f := range c.cfg.filters {
		if !f(t) {
			return false
		}
	}
	return true
}

// modelName is the tool's name for the model: renamed, prefixed, and made
// of the characters model APIs accept (others become '_'), 64 at most.
func (c *Client) modelName(name string) string {
	if c.cfg.rename != nil {
		name = c.cfg.rename(name)
	}
	return toolName(c.cfg.prefix + name)
}

// call calls a tool of the server by its server name.
func (c *Client) call(ctx context.Context, name string, args json.RawMessage, safe bool) (*mcp.CallToolResult, error) {
	op := "call " + name
	for attempt := 0; ; attempt++ {
		s, err := c.session(ctx, op)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("mcptool: %s: %s: %w", c.name, op, ctx.Err())
			}
			return nil, err
		}
		var sent atomic.Bool
		cctx, cancel := context.WithCancel(context.WithValue(ctx, sentKey{}, &sent))
		stop := context.AfterFunc(c.life, cancel)
		res, err := s.cs.CallTool(cctx, &mcp.CallToolParams{Name: name, Arguments: args})
		stop()
		cancel()
		if err == nil {
			return res, nil
		}
		e := c.requestError(ctx, op, err, safe)
		if ce, ok := e.(*ConnectionError); ok && ce.InFlight && s.link.watched && !sent.Load() {
			ce.InFlight = false // its write failed: the server never had it
		}
		if ce, ok := e.(*ConnectionError); ok && ce.Err != ErrClosed {
			if !ce.InFlight && attempt == 0 && !rejected(err) {
				// The server never had the request: send it on a new
				// connection.
				c.drop(s)
				continue
			}
			if ce.InFlight {
				c.drop(s)
			}
		}
		return nil, e
	}
}

// requestError classifies the failure of a request.
func (c *Client) requestError(ctx context.Context, op string, err error, safe bool) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("mcptool: %s: %s: %w", c.name, op, ctx.Err())
	case c.life.Err() != nil:
		return c.closedError(op)
	}
	refused := false
	for _, we := range wireErrors(err) {
		if we.Code == codeRejected {
			refused = true
			continue
		}
		// The server answered with an error.
		return &ServerError{Server: c.name, Op: op, Code: we.Code, Message: we.Message}
	}
	e := &ConnectionError{Server: c.name, Op: op, Err: err, safe: safe}
	// A closed connection refused the request before sending it; an
	// expired HTTP session or a transient HTTP status (429, 502, 503,
	// 504) made the server refuse it unread. Anything else broke the
	// connection while the server had it.
	e.InFlight = !refused && !errors.Is(err, mcp.ErrConnectionClosed) && !errors.Is(err, mcp.ErrSessionMissing)
	return e
}

// rejected reports the SDK's mark of a request the HTTP transport refused
// without breaking the connection (a transient HTTP status).
func rejected(err error) bool {
	for _, we := range wireErrors(err) {
		if we.Code == codeRejected {
			return true
		}
	}
	return false
}

// codeRejected is the code of the SDK's "rejected by transport" mark.
const codeRejected = -32005

// wireErrors returns the JSON-RPC errors in err's tree.
func wireErrors(err error) []*jsonrpc.Error {
	var out []*jsonrpc.Error
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if we, ok := e.(*jsonrpc.Error); ok {
			out = append(out, we)
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}

// moduleVersion is the module's version as the build recorded it.
func moduleVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Path == "github.com/ttadev/primitives" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			return info.Main.Version
		}
		for _, d := range info.Deps {
			if d.Path == "github.com/ttadev/primitives" {
				return d.Version
			}
		}
	}
	return "devel"
}
