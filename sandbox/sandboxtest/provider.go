// Package sandboxtest provides a [sandbox.Provider] whose sandboxes answer
// through a Go function instead of running code, for testing how a
// pipeline is wired (retries, caching, pools, telemetry) without Python or
// a network. It counts what happens to its sandboxes (created, closed,
// reset, runs, overlapping runs) so tests can check that nothing leaks.
//
// The common cases take one line: Printing (every cell prints a text),
// Raising (every cell raises an exception), and Executor (a stand-in for
// the whole code-execution step, answering given outputs).
//
// For tests of what code does, use the real local sandbox
// (sandbox/local) instead.
package sandboxtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// Handler computes the execution of code on sb. It behaves like a backend:
// a failure of the code goes in the returned Execution's Error with a nil
// error; a non-nil error is an infrastructure failure. It should return
// when ctx ends (the run's timeout or the caller's cancellation). The
// provider fills ExecutionCount and fires the RunOptions callbacks.
type Handler func(ctx context.Context, sb *Sandbox, code string, opts sandbox.RunOptions) (*sandbox.Execution, error)

// Provider is a [sandbox.Provider] whose sandboxes run a [Handler]. It is
// safe for concurrent use.
type Provider struct {
	name        string
	handler     Handler
	createDelay time.Duration
	createHook  func(ctx context.Context, n int, opts sandbox.CreateOptions) error
	resetHook   func(sb *Sandbox) error

	seq       atomic.Int64
	created   atomic.Int64
	failed    atomic.Int64
	closed    atomic.Int64
	resets    atomic.Int64
	runs      atomic.Int64
	overlaps  atomic.Int64
	live      atomic.Int64
	peakLive  atomic.Int64
	mu        sync.Mutex
	sandboxes []*Sandbox
}

// Option configures a Provider.
type Option func(*Provider)

// Name sets the provider's name ("test" by default).
func Name(name string) Option { return func(p *Provider) { p.name = name } }

// CreateDelay makes every creation take d (or less, when its context
// ends first), to make creation races observable.
func CreateDelay(d time.Duration) Option { return func(p *Provider) { p.createDelay = d } }

// OnCreate calls f before each creation with the creation's number
// (counting from 1) and options; a non-nil error makes that creation fail
// with it.
func OnCreate(f func(ctx context.Context, n int, opts sandbox.CreateOptions) error) Option {
	return func(p *Provider) { p.createHook = f }
}

// OnReset calls f at each Reset, after the sandbox's variables were
// cleared; a non-nil error makes Reset fail with it.
func OnReset(f func(sb *Sandbox) error) Option { return func(p *Provider) { p.resetHook = f } }

// New returns a Provider whose sandboxes answer with h. A nil h panics.
func New(h Handler, opts ...Option) *Provider {
	if h == nil {
		panic("sandboxtest: New: handler is nil")
	}
	p := &Provider{name: "test", handler: h}
	for _, o := range opts {
		if o == nil {
			panic("sandboxtest: New: nil option")
		}
		o(p)
	}
	return p
}

// Name returns the provider's name.
func (p *Provider) Name() string { return p.name }

// Create returns a new sandbox after the configured delay, unless the
// OnCreate hook or ctx says otherwise.
func (p *Provider) Create(ctx context.Context, opts sandbox.CreateOptions) (sandbox.Sandbox, error) {
	n := int(p.seq.Add(1))
	if p.createDelay > 0 {
		t := time.NewTimer(p.createDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			p.failed.Add(1)
			return nil, context.Cause(ctx)
		}
	}
	if p.createHook != nil {
		if err := p.createHook(ctx, n, opts); err != nil {
			p.failed.Add(1)
			return nil, err
		}
	}
	sb := &Sandbox{id: fmt.Sprintf("%s-%d", p.name, n), provider: p, opts: opts, vars: map[string]string{}, done: make(chan struct{})}
	p.created.Add(1)
	live := p.live.Add(1)
	for {
		peak := p.peakLive.Load()
		if live <= peak || p.peakLive.CompareAndSwap(peak, live) {
			break
		}
	}
	p.mu.Lock()
	p.sandboxes = append(p.sandboxes, sb)
	p.mu.Unlock()
	return sb, nil
}

// Stats are a Provider's counters.
type Stats struct {
	Created        int // sandboxes created
	CreateFailures int // creations that failed
	Closed         int // sandboxes closed (first Close of each)
	Live           int // created and not yet closed
	PeakLive       int // the most sandboxes alive at once
	Runs           int // Run calls that reached the handler
	Resets         int // Reset calls
	// Overlaps counts Run or Reset calls that started while another Run
	// or Reset was in progress on the same sandbox. A pool must never do
	// that.
	Overlaps int
}

// Stats returns the provider's counters.
func (p *Provider) Stats() Stats {
	return Stats{
		Created:        int(p.created.Load()),
		CreateFailures: int(p.failed.Load()),
		Closed:         int(p.closed.Load()),
		Live:           int(p.live.Load()),
		PeakLive:       int(p.peakLive.Load()),
		Runs:           int(p.runs.Load()),
		Resets:         int(p.resets.Load()),
		Overlaps:       int(p.overlaps.Load()),
	}
}

// Sandboxes returns every sandbox created so far, oldest first.
func (p *Provider) Sandboxes() []*Sandbox {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Sandbox(nil), p.sandboxes...)
}

// Sandbox is a sandbox of a [Provider]. It has a small key/value store
// that the handler may use as interpreter state: it persists between runs
// and Reset clears it.
type Sandbox struct {
	id       string
	provider *Provider
	opts     sandbox.CreateOptions

	running atomic.Int32
	mu      sync.Mutex
	vars    map[string]string
	count   int
	closed  bool
	dead    string
	done    chan struct{}
}

// Done returns a channel closed when the sandbox is closed. A handler
// that blocks should also return when it is closed, as a real backend's
// execution ends when its sandbox is killed.
func (s *Sandbox) Done() <-chan struct{} { return s.done }

// ID returns the sandbox's id ("<provider name>-<n>").
func (s *Sandbox) ID() string { return s.id }

// Options returns the options the sandbox was created with.
func (s *Sandbox) Options() sandbox.CreateOptions { return s.opts }

// Get reads a variable of the sandbox's state.
func (s *Sandbox) Get(key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vars[key]
	return v, ok
}

// Set writes a variable of the sandbox's state.
func (s *Sandbox) Set(key, value string) {
	s.mu.Lock()
	s.vars[key] = value
	s.mu.Unlock()
}

// Closed reports whether Close was called.
func (s *Sandbox) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Run calls the handler with the run's timeout applied. It returns
// sandbox.ErrClosed after Close, an *sandbox.UnsupportedLanguageError for
// a language other than Python, and a *recovery.TimeoutError when the
// handler is still running at the timeout, after which the sandbox is
// dead (later runs fail with a *sandbox.CrashError), as a real backend
// kills a sandbox whose code ran too long.
func (s *Sandbox) Run(ctx context.Context, code string, opts sandbox.RunOptions) (*sandbox.Execution, error) {
	if opts.Language != "" && opts.Language != sandbox.LanguagePython {
		return nil, &sandbox.UnsupportedLanguageError{Language: opts.Language, Supported: []string{sandbox.LanguagePython}}
	}
	if opts.OnHostCall != nil {
		return nil, &sandbox.UnsupportedError{Backend: "sandboxtest", Feature: "calls from code to the host (RunOptions.OnHostCall)", Err: sandbox.ErrHostCallsUnsupported}
	}
	s.mu.Lock()
	closed, dead := s.closed, s.dead
	s.mu.Unlock()
	if closed {
		return nil, sandbox.ErrClosed
	}
	if dead != "" {
		return nil, &sandbox.CrashError{SandboxID: s.id, Reason: dead}
	}
	if s.running.Add(1) > 1 {
		s.provider.overlaps.Add(1)
	}
	defer s.running.Add(-1)
	s.provider.runs.Add(1)

	runCtx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	exec, err := s.provider.handler(runCtx, s, code, opts)
	if ctx.Err() == nil && errors.Is(runCtx.Err(), context.DeadlineExceeded) {
		s.mu.Lock()
		s.dead = "killed after its execution timed out"
		s.mu.Unlock()
		return nil, &recovery.TimeoutError{Op: "code execution", After: opts.Timeout, Err: context.DeadlineExceeded}
	}
	if err != nil {
		return nil, err
	}
	if exec == nil {
		exec = &sandbox.Execution{}
	}
	s.mu.Lock()
	s.count++
	exec.ExecutionCount = s.count
	s.mu.Unlock()
	fire(exec, opts)
	return exec, nil
}

func fire(exec *sandbox.Execution, opts sandbox.RunOptions) {
	if opts.OnStdout != nil {
		for _, m := range exec.Stdout {
			opts.OnStdout(m)
		}
	}
	if opts.OnStderr != nil {
		for _, m := range exec.Stderr {
			opts.OnStderr(m)
		}
	}
	if opts.OnResult != nil {
		for _, r := range exec.Results {
			opts.OnResult(r)
		}
	}
	if opts.OnError != nil && exec.Error != nil {
		opts.OnError(*exec.Error)
	}
}

// Reset clears the sandbox's variables and execution count, then calls
// the OnReset hook. It fails with sandbox.ErrClosed after Close.
func (s *Sandbox) Reset(ctx context.Context) error {
	s.provider.resets.Add(1)
	if s.running.Add(1) > 1 {
		s.provider.overlaps.Add(1)
	}
	defer s.running.Add(-1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return sandbox.ErrClosed
	}
	clear(s.vars)
	s.count = 0
	s.mu.Unlock()
	if h := s.provider.resetHook; h != nil {
		return h(s)
	}
	return nil
}

// Close marks the sandbox closed. It is idempotent; only the first call
// is counted.
func (s *Sandbox) Close(ctx context.Context) error {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	s.mu.Unlock()
	if first {
		close(s.done)
		s.provider.closed.Add(1)
		s.provider.live.Add(-1)
	}
	return nil
}

// Output returns an execution that printed stdout.
func Output(stdout string) *sandbox.Execution {
	return &sandbox.Execution{Stdout: []sandbox.OutputMessage{{Text: stdout, Timestamp: time.Now()}}}
}

// Raise returns an execution whose code raised the exception name with
// value, as Python reports it.
func Raise(name, value string) *sandbox.Execution {
	return &sandbox.Execution{Error: &sandbox.ExecutionError{
		Name:      name,
		Value:     value,
		Traceback: "Traceback (most recent call last):\n  File \"<cell>\", line 1, in <module>\n" + name + ": " + value,
	}}
}
