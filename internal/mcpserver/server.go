package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// Name is the server's name in its MCP implementation info.
const Name = "sandbox-mcp"

// Server is an MCP server running code in one sandbox per MCP session. Build
// it with [New], serve it with [Server.MCP] on any transport (or
// [Server.HTTPHandler]), and [Server.Close] it to close every sandbox.
//
// A Server is safe for concurrent use by any number of sessions. Its cost
// over the primitive's own execution is the MCP round trip (JSON encoding
// and the transport) plus a few microseconds of bookkeeping per call.
type Server struct {
	cfg      config
	provider *trackedProvider
	server   *mcp.Server
	inst     *instruments
	version  string

	mu       sync.Mutex
	sessions map[*mcp.ServerSession]*session
	live     int
	closed   bool

	bg       int // sandbox closes and session watchers running, guarded by mu
	stop     chan struct{}
	reaperWG sync.WaitGroup
}

// session is the sandbox state of one MCP session. Its fields are guarded
// by Server.mu.
type session struct {
	exec      *sandbox.CodeExecution // nil once expired
	run       primitives.Primitive[sandbox.CodeInput, sandbox.CodeOutput]
	active    int
	lastUsed  time.Time
	expired   bool
	sandboxID string // the sandbox that ran the session's last cell
}

// Stats is a snapshot of a server's counters.
type Stats struct {
	// SandboxesCreated and SandboxesClosed count the sandboxes of every
	// session since the server started.
	SandboxesCreated, SandboxesClosed int64
	// LiveSessions is the number of MCP sessions holding a sandbox.
	LiveSessions int
	// KnownSessions also counts sessions whose sandbox expired.
	KnownSessions int
}

// New returns a server running cells on p's sandboxes. version is reported
// to clients. Telemetry options reach every span, metric and log record of
// the server and of its sessions' primitives. A nil provider or option, or
// a foreign option, panics.
func New(p sandbox.Provider, version string, opts ...Option) *Server {
	if p == nil {
		panic("mcpserver: New: provider is nil")
	}
	cfg := defaultConfig()
	for i, o := range opts {
		switch o := o.(type) {
		case option:
			o(&cfg)
		case observability.Option:
			cfg.telemetry = append(cfg.telemetry, o)
		case nil:
			panic(fmt.Sprintf("mcpserver: New: option %d is nil", i))
		default:
			panic(fmt.Sprintf("mcpserver: New: option %d (%T) is not an option of this package", i, o))
		}
	}
	cfg.tel = observability.Providers{}.With(cfg.telemetry...)
	if cfg.backend == "" {
		cfg.backend = p.Name()
	}
	if cfg.cellTimeout > cfg.maxCellTimeout {
		cfg.maxCellTimeout = cfg.cellTimeout
	}
	s := &Server{
		cfg:      cfg,
		provider: &trackedProvider{Provider: p},
		inst:     newInstruments(cfg.tel.Meter()),
		version:  version,
		sessions: make(map[*mcp.ServerSession]*session),
		stop:     make(chan struct{}),
	}
	s.server = mcp.NewServer(&mcp.Implementation{Name: Name, Title: "Sandboxed code execution", Version: version},
		&mcp.ServerOptions{
			Instructions: s.instructions(),
			Logger:       cfg.tel.Log(),
			// The server keeps a sandbox per session, so it speaks the
			// session-based protocol revisions; a client offering a
			// sessionless revision falls back to them at initialize.
			SupportedProtocolVersions: sessionProtocolVersions(),
			Capabilities:              &mcp.ServerCapabilities{Logging: &mcp.LoggingCapabilities{}},
		})
	s.addTools()
	s.reaperWG.Add(1)
	go s.reap()
	return s
}

// sessionProtocolVersions lists the SDK's protocol versions that have
// sessions (those negotiated by initialize, before 2026-07-28).
func sessionProtocolVersions() []string {
	return slices.DeleteFunc(mcp.SupportedProtocolVersions(), func(v string) bool { return v >= "2026-07-28" })
}

func (s *Server) instructions() string {
	iso := s.cfg.isolation
	if iso == "" {
		iso = "see the server's log"
	}
	return fmt.Sprintf(`Runs Python code in an isolated sandbox (backend: %s; isolation: %s).
Each MCP session has its own sandbox whose state persists between calls, like a Jupyter kernel: variables, imports, files and installed state. Other sessions cannot see it.
Tools: run_code (a cell; the value of the last expression is returned, images as image content, stdout streamed as progress while it runs), write_file and read_file (files up to %d bytes, text or base64), reset_session (a fresh sandbox).
Cells stop after %s unless a timeout (at most %s) is given; a cell that times out or crashes loses the session's state. The sandbox is closed after %s without calls.`,
		s.cfg.backend, iso, s.cfg.maxFileBytes, s.cfg.cellTimeout, s.cfg.maxCellTimeout, s.cfg.idleTimeout)
}

// MCP returns the SDK server, to run on a transport:
// srv.MCP().Run(ctx, &mcp.StdioTransport{}).
func (s *Server) MCP() *mcp.Server { return s.server }

// Instructions returns what the server tells clients at initialize.
func (s *Server) Instructions() string { return s.instructions() }

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		SandboxesCreated: s.provider.created.Load(),
		SandboxesClosed:  s.provider.closed.Load(),
		LiveSessions:     s.live,
		KnownSessions:    len(s.sessions),
	}
}

// Close closes every session's sandbox, waiting until they are closed or
// ctx ends (then the sandboxes still running a cell are killed), ends the
// MCP sessions that used a sandbox, and stops the idle reaper. Calls after
// Close get a tool error. It is idempotent.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	var execs []*sandbox.CodeExecution
	var conns []*mcp.ServerSession
	if !s.closed {
		s.closed = true
		close(s.stop)
		for ss, sess := range s.sessions {
			if sess.exec != nil {
				execs = append(execs, sess.exec)
				s.inst.sessions.Add(context.Background(), -1)
			}
			delete(s.sessions, ss)
			conns = append(conns, ss)
		}
		s.live = 0
	}
	s.mu.Unlock()
	s.reaperWG.Wait()
	var errs []error
	for _, e := range execs {
		errs = append(errs, e.Close(ctx))
	}
	// End the MCP sessions too, which ends their watchers.
	for _, ss := range conns {
		if ss != nil {
			_ = ss.Close()
		}
	}
	// Background work may still start after closed is set (a reset that
	// was under way): wait for the count to reach zero rather than on a
	// WaitGroup, whose Add must not race with Wait.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !s.idle() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return errors.Join(append(errs, context.Cause(ctx))...)
		}
	}
	return errors.Join(errs...)
}

// idle reports whether no background work is running.
func (s *Server) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bg == 0
}

// goBackground runs f on a new goroutine counted in s.bg.
func (s *Server) goBackground(f func()) {
	s.mu.Lock()
	s.bg++
	s.mu.Unlock()
	go func() {
		defer func() {
			s.mu.Lock()
			s.bg--
			s.mu.Unlock()
		}()
		f()
	}()
}

// newExec builds a session's primitive: Timeout(Retry(CodeExecution))
// over a pool of one sandbox in session mode.
func (s *Server) newExec() (*sandbox.CodeExecution, primitives.Primitive[sandbox.CodeInput, sandbox.CodeOutput]) {
	copts := []sandbox.CodeOption{
		sandbox.MaxSandboxes(1),
		sandbox.SessionMode(),
		sandbox.WithTimeout(s.cfg.cellTimeout),
		// Large enough for a file read back base64-encoded; what reaches
		// the client is cut to maxOutputChars by the tool.
		sandbox.WithMaxOutputSize(transferChars(s.cfg.maxFileBytes)),
	}
	ropts := []recovery.RetryOption{recovery.RetryIf(creationFailed), recovery.MaxRetries(2), recovery.InitialDelay(200 * time.Millisecond)}
	topts := []recovery.TimeoutOption{}
	for _, t := range s.cfg.telemetry {
		copts = append(copts, t)
		ropts = append(ropts, t)
		topts = append(topts, t)
	}
	exec := sandbox.NewCodeExecution(s.provider, copts...)
	run := recovery.Timeout(recovery.Retry(exec, ropts...), s.cfg.maxCellTimeout+startAllowance, topts...)
	return exec, run
}

// creationFailed is the retry predicate: only a sandbox that could not be
// created is tried again. A cell is never run twice.
func creationFailed(err error) bool {
	var ce *sandbox.CreateError
	return errors.As(err, &ce) && recovery.IsRetryable(err)
}

// transferChars is the output size that carries a file of n bytes,
// base64-encoded, plus its header line.
func transferChars(n int) int { return (n+2)/3*4 + 4096 }

// acquire returns ss's session, creating it (and its watcher) on first use,
// and marks a call in flight; release it with s.release.
func (s *Server) acquire(ss *mcp.ServerSession) (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, toolErrorf("the server is shutting down; no new cells are accepted")
	}
	sess := s.sessions[ss]
	if sess == nil {
		if s.live >= s.cfg.maxSessions {
			return nil, toolErrorf("too many live sandbox sessions (the server allows %d at once); end another MCP session, or wait for an idle one to be closed after %s", s.cfg.maxSessions, s.cfg.idleTimeout)
		}
		sess = &session{lastUsed: time.Now()}
		sess.exec, sess.run = s.newExec()
		s.sessions[ss] = sess
		s.live++
		s.inst.sessions.Add(context.Background(), 1)
		s.watch(ss)
	}
	if sess.expired {
		return nil, toolErrorf("unknown session: this session's sandbox was closed after %s without calls, and its state is gone; call reset_session to start a fresh sandbox", s.cfg.idleTimeout)
	}
	sess.active++
	return sess, nil
}

func (s *Server) release(sess *session) {
	s.mu.Lock()
	sess.active--
	sess.lastUsed = time.Now()
	s.mu.Unlock()
}

// watch closes ss's sandbox when the MCP session ends. Called with s.mu
// held, once per session.
func (s *Server) watch(ss *mcp.ServerSession) {
	if ss == nil {
		return
	}
	s.bg++ // s.mu is held
	go func() {
		_ = ss.Wait()
		s.endSession(ss)
		s.mu.Lock()
		s.bg--
		s.mu.Unlock()
	}()
}

func (s *Server) endSession(ss *mcp.ServerSession) {
	s.mu.Lock()
	sess := s.sessions[ss]
	if sess == nil {
		s.mu.Unlock()
		return
	}
	delete(s.sessions, ss)
	exec := s.retireLocked(sess)
	s.mu.Unlock()
	s.closeExec(exec, 30*time.Second)
}

// retireLocked detaches sess's primitive, returning it for closing.
func (s *Server) retireLocked(sess *session) *sandbox.CodeExecution {
	exec := sess.exec
	if exec != nil {
		sess.exec, sess.run = nil, nil
		s.live--
		s.inst.sessions.Add(context.Background(), -1)
	}
	return exec
}

// closeExec closes exec in the background; cells still running on it are
// killed once grace has passed.
func (s *Server) closeExec(exec *sandbox.CodeExecution, grace time.Duration) {
	if exec == nil {
		return
	}
	s.goBackground(func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := exec.Close(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			observability.Log(ctx, s.cfg.tel.Log(), slog.LevelWarn, "closing a session's sandbox failed", slog.String("error", err.Error()))
		}
	})
}

// reset gives ss a fresh sandbox, closing the old one (a cell still running
// on it is stopped). It reports whether there was a sandbox to replace.
func (s *Server) reset(ss *mcp.ServerSession) (bool, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false, toolErrorf("the server is shutting down")
	}
	sess := s.sessions[ss]
	if sess == nil {
		s.mu.Unlock()
		return false, nil
	}
	old := s.retireLocked(sess)
	if s.live >= s.cfg.maxSessions {
		// Only reachable when reviving an expired session.
		sess.expired = true
		s.mu.Unlock()
		s.closeExec(old, time.Second)
		return false, toolErrorf("too many live sandbox sessions (the server allows %d at once); try again later", s.cfg.maxSessions)
	}
	sess.exec, sess.run = s.newExec()
	sess.expired = false
	sess.sandboxID = ""
	sess.lastUsed = time.Now()
	s.live++
	s.inst.sessions.Add(context.Background(), 1)
	s.mu.Unlock()
	s.closeExec(old, time.Second)
	return old != nil, nil
}

// reap closes the sandboxes of sessions idle for the idle timeout.
func (s *Server) reap() {
	defer s.reaperWG.Done()
	every := min(max(s.cfg.idleTimeout/4, 10*time.Millisecond), 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.mu.Lock()
			var execs []*sandbox.CodeExecution
			for _, sess := range s.sessions {
				if sess.exec != nil && sess.active == 0 && now.Sub(sess.lastUsed) >= s.cfg.idleTimeout {
					execs = append(execs, s.retireLocked(sess))
					sess.expired = true
				}
			}
			s.mu.Unlock()
			for _, e := range execs {
				s.closeExec(e, 30*time.Second)
			}
		}
	}
}
