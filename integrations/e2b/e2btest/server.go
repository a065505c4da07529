package e2btest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

// APIKey is the key a Server accepts unless [WithAPIKey] says otherwise.
// It has the shape of a real key and grants nothing anywhere else.
const APIKey = "e2b_0000000000000000000000000000000000fa4e"

// Server is a fake E2B service on loopback. It is safe for concurrent
// use; close it with Close.
type Server struct {
	srv          *httptest.Server
	provider     sandbox.Provider
	ownsProvider bool
	apiKey       string
	keepalive    time.Duration
	maxLifetime  time.Duration
	startupDelay time.Duration

	mu        sync.Mutex
	sandboxes map[string]*fakeSandbox
	faults    []*Fault
	stats     Stats
	closed    bool
}

// Stats counts what a Server did.
type Stats struct {
	// Creates counts sandboxes created (201 with a sandboxID).
	Creates int
	// Kills counts sandboxes killed by DELETE (204).
	Kills int
	// Expired counts sandboxes whose lifetime ended.
	Expired int
	// Live is the number of sandboxes alive now.
	Live int
	// Executes counts POST /execute requests that reached a sandbox,
	// faulted ones included.
	Executes int
	// Requests counts every request.
	Requests int
	// Faults counts the faults injected so far.
	Faults int
	// OpenConns is the number of client connections open now.
	OpenConns int
}

// Option configures a [Server].
type Option func(*Server)

// WithProvider runs the code of every context on p instead of a local
// sandbox provider. The server does not close p.
func WithProvider(p sandbox.Provider) Option {
	if p == nil {
		panic("e2btest: WithProvider: provider is nil")
	}
	return func(s *Server) { s.provider = p }
}

// WithAPIKey makes the server accept key instead of [APIKey].
func WithAPIKey(key string) Option {
	return func(s *Server) { s.apiKey = key }
}

// WithKeepaliveInterval sets how often a keepalive line is sent while an
// execution runs (E2B: every 5 s; default here 5 s).
func WithKeepaliveInterval(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("e2btest: WithKeepaliveInterval(%s): interval must be > 0", d))
	}
	return func(s *Server) { s.keepalive = d }
}

// WithMaxLifetime sets the plan's maximum sandbox lifetime (default 1 h,
// the free tier's); a longer one is refused with 400.
func WithMaxLifetime(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("e2btest: WithMaxLifetime(%s): lifetime must be > 0", d))
	}
	return func(s *Server) { s.maxLifetime = d }
}

// WithStartupDelay makes the code interpreter of a new sandbox answer
// 502 "The sandbox is running but port is not open" for d after its
// creation, as E2B's proxy does while the sandbox starts (default 0).
func WithStartupDelay(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("e2btest: WithStartupDelay(%s): delay must be >= 0", d))
	}
	return func(s *Server) { s.startupDelay = d }
}

// NewServer starts a fake E2B server on loopback. Without [WithProvider]
// it runs code in isolated local sandboxes (sandbox/local); it panics if
// that provider cannot start on this machine (pass a provider built with
// local.AllowUnsafe() there).
func NewServer(opts ...Option) *Server {
	s := &Server{
		apiKey:      APIKey,
		keepalive:   5 * time.Second,
		maxLifetime: time.Hour,
		sandboxes:   map[string]*fakeSandbox{},
	}
	for _, o := range opts {
		if o == nil {
			panic("e2btest: NewServer: nil option")
		}
		o(s)
	}
	if s.provider == nil {
		p, err := local.New()
		if err != nil {
			panic("e2btest: NewServer: local sandbox provider: " + err.Error())
		}
		s.provider, s.ownsProvider = p, true
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.srv.Config.ConnState = s.connState
	s.srv.Start()
	return s
}

// URL is the base URL of both planes: use it as E2B_API_URL and
// E2B_SANDBOX_URL.
func (s *Server) URL() string { return s.srv.URL }

// APIKey returns the key the server accepts.
func (s *Server) APIKey() string { return s.apiKey }

// HTTPClient returns a client for the server's loopback address.
func (s *Server) HTTPClient() *http.Client { return s.srv.Client() }

// Options returns the options that point an e2b client at the server:
// its key, its URL for both planes, and its HTTP client.
func (s *Server) Options() []e2b.Option {
	return []e2b.Option{
		e2b.WithAPIKey(s.apiKey),
		e2b.WithAPIURL(s.srv.URL),
		e2b.WithSandboxURL(s.srv.URL),
		e2b.WithHTTPClient(s.srv.Client()),
	}
}

// ClientOptions returns [Server.Options] for e2b.NewClient and
// e2b.NewProvider, to which more options can be appended.
func (s *Server) ClientOptions() []e2b.ClientOption {
	var out []e2b.ClientOption
	for _, o := range s.Options() {
		out = append(out, o)
	}
	return out
}

// PrimitiveOptions returns [Server.Options] for
// e2b.NewCodeExecutionPrimitive, to which more options can be appended.
func (s *Server) PrimitiveOptions() []e2b.PrimitiveOption {
	var out []e2b.PrimitiveOption
	for _, o := range s.Options() {
		out = append(out, o)
	}
	return out
}

// Inject adds a fault; faults apply in the order injected.
func (s *Server) Inject(f Fault) {
	if f.Count == 0 {
		f.Count = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Live = len(s.sandboxes)
	return st
}

// SandboxIDs returns the ids of the live sandboxes.
func (s *Server) SandboxIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.sandboxes))
	for id := range s.sandboxes {
		ids = append(ids, id)
	}
	return ids
}

// ExpireSandbox ends a sandbox's lifetime now, as E2B does when its
// timeout passes. It reports whether the sandbox existed.
func (s *Server) ExpireSandbox(id string) bool {
	s.mu.Lock()
	sb := s.sandboxes[id]
	if sb != nil {
		delete(s.sandboxes, id)
		s.stats.Expired++
	}
	s.mu.Unlock()
	if sb != nil {
		sb.shutdown()
	}
	return sb != nil
}

// Close stops the server, closes every live sandbox's kernels and, when
// the server created it, the local provider.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.mu.Lock()
	s.closed = true
	live := s.sandboxes
	s.sandboxes = map[string]*fakeSandbox{}
	s.mu.Unlock()
	for _, sb := range live {
		sb.shutdown()
	}
	if s.ownsProvider {
		if c, ok := s.provider.(interface{ Close() error }); ok {
			_ = c.Close()
		}
	}
}

// connState counts open connections.
func (s *Server) connState(_ net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case http.StateNew:
		s.stats.OpenConns++
	case http.StateClosed, http.StateHijacked:
		s.stats.OpenConns--
	}
}

// takeFault returns the first pending fault matching op, consuming one of
// its uses.
func (s *Server) takeFault(op Op) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if !f.matches(op) {
			continue
		}
		cp := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		s.stats.Faults++
		return &cp
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newSandboxID returns 20 characters of [a-z0-9], as E2B's ids.
func newSandboxID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	s.mu.Unlock()
	if id := r.Header.Get("E2b-Sandbox-Id"); id != "" {
		s.serveData(w, r, id)
		return
	}
	s.serveControl(w, r)
}

// detached returns a context for work that must finish even if the
// request is gone.
func detached() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// Handler returns the server's handler, to serve it behind another
// listener (for example a TLS server reached by E2B's real host names).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// AccessToken returns the envd access token of a live secure sandbox ("" for
// an unknown or insecure one), for tests that check it is never printed.
func (s *Server) AccessToken(sandboxID string) string {
	if sb := s.lookup(sandboxID); sb != nil {
		return sb.accessToken
	}
	return ""
}
