package mcptool

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Server says how to reach an MCP server: [Stdio], [HTTP] or [Transport].
// Each connection (the first, and one after a lost connection) is made
// anew from it.
type Server interface {
	// open makes one connection's transport.
	open(ctx context.Context) (*link, error)
	// label names the server before it names itself.
	label() string
}

// link is one connection's transport, with what is needed to end it and
// to explain its failures.
type link struct {
	transport mcp.Transport
	proc      *process      // the stdio server's process, or nil
	status    *atomic.Int32 // the last refusing HTTP status, or nil
	watched   bool          // the transport reports which requests it wrote
}

// Stdio is an MCP server run as a child process that speaks MCP on its
// stdin and stdout, as desktop clients run them.
//
// On Linux the process leads a process group of its own; when it exits,
// or when the Client closes, whatever is left of the group is killed, so
// no process it started is left behind (launchers such as npx and uvx
// included). Close first closes its stdin and waits StopTimeout, then
// sends SIGTERM and waits again, then SIGKILL.
type Stdio struct {
	// Command is the program: a path, or a name looked up in PATH.
	Command string
	// Args are its arguments.
	Args []string
	// Env is its whole environment, "KEY=value" each; nil means this
	// process's environment (append to os.Environ() to add variables).
	Env []string
	// Dir is its working directory; empty means this process's.
	Dir string
	// Stderr receives its standard error (its log); nil discards it.
	Stderr io.Writer
	// StopTimeout is how long Close waits at each step of the shutdown;
	// 0 means DefaultStopTimeout.
	StopTimeout time.Duration
}

func (s Stdio) open(context.Context) (*link, error) {
	p, err := startProcess(s)
	if err != nil {
		return nil, &startError{err: err, fixed: errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)}
	}
	return &link{transport: &mcp.IOTransport{Reader: readEnd{pipes{p}}, Writer: writeEnd{pipes{p}}}, proc: p}, nil
}

func (s Stdio) label() string { return filepath.Base(s.Command) }

// startError is a server that could not be started or addressed.
type startError struct {
	err   error
	fixed bool // trying again cannot succeed
}

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// HTTP is an MCP server reached over the streamable HTTP transport.
type HTTP struct {
	// URL is the server's MCP endpoint.
	URL string
	// Client sends the requests; nil means http.DefaultClient. A Timeout
	// on it bounds every tool call.
	Client *http.Client
	// Header is added to every request (an Authorization header, say).
	// Its values never appear in errors.
	Header http.Header
}

func (h HTTP) open(context.Context) (*link, error) {
	u, err := url.Parse(h.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &startError{err: errors.New("the URL is not an http or https URL"), fixed: true}
	}
	base := h.Client
	if base == nil {
		base = http.DefaultClient
	}
	status := new(atomic.Int32)
	client := *base
	client.Transport = &headerTransport{base: base.Transport, header: h.Header, status: status}
	return &link{
		transport: &mcp.StreamableClientTransport{
			Endpoint:   h.URL,
			HTTPClient: &client,
			// The client takes no requests from the server, so it needs
			// no stream of its own to receive them.
			DisableStandaloneSSE: true,
		},
		status: status,
	}, nil
}

func (h HTTP) label() string {
	if u, err := url.Parse(h.URL); err == nil && u.Host != "" {
		return u.Host
	}
	return "http"
}

// headerTransport adds the configured headers to each request and notes
// the responses that refuse the credentials.
type headerTransport struct {
	base   http.RoundTripper
	header http.Header
	status *atomic.Int32
}

func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(t.header) > 0 {
		req = req.Clone(req.Context())
		for k, vs := range t.header {
			req.Header.Del(k)
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	}
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err == nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		t.status.Store(int32(resp.StatusCode))
	}
	return resp, err
}

// Transport reaches an MCP server through any transport of the SDK (an
// in-memory pair, a custom one). A transport serves one connection, so
// the function is called for each: once at Connect, again after a lost
// connection.
type Transport func(ctx context.Context) (mcp.Transport, error)

func (t Transport) open(ctx context.Context) (*link, error) {
	tr, err := t(ctx)
	if err != nil {
		return nil, err
	}
	return &link{transport: tr}, nil
}

func (Transport) label() string { return "mcp" }
