package e2b

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ttadev/primitives/sandbox"
)

// ProviderName is the name of the E2B provider in logs, spans and
// metrics.
const ProviderName = "e2b"

// Provider creates E2B sandboxes for the sandbox contract, so that a
// sandbox.Pool or sandbox.CodeExecution runs on E2B: the pool brings warm
// reuse, rotation after the session max age and lazy creation.
//
// Each sandbox it creates gets its own code interpreter context, created
// as soon as the sandbox answers (a 502 within the startup window is
// retried). Run executes in that context, with [RunMarkerEnv] set; Reset
// kills the processes earlier runs started, removes what they added to
// the working directory and restarts the kernel; Close kills the sandbox.
// A sandbox whose setup fails is killed before Create returns, so nothing
// leaks. sandbox.NewPool's default bound is the local CPU count; give a
// pool over a Provider sandbox.MaxSandboxes([DefaultMaxSandboxes]), as
// [NewCodeExecutionPrimitive] does.
//
// A Provider is safe for concurrent use. Its String and Format, like the
// sandboxes it returns, print no key or token.
type Provider struct {
	client *Client
}

var _ sandbox.Provider = (*Provider)(nil)

// NewProvider builds a client (see [NewClient]) and returns its provider.
func NewProvider(opts ...ClientOption) (*Provider, error) {
	c, err := newClient("NewProvider", opts)
	if err != nil {
		return nil, err
	}
	return c.Provider(), nil
}

// Provider returns a sandbox.Provider over the client.
func (c *Client) Provider() *Provider { return &Provider{client: c} }

// Name returns "e2b".
func (p *Provider) Name() string { return ProviderName }

// Close closes the client's idle connections (see [Client.Close]); it
// kills no sandbox. The primitive built by [NewCodeExecutionPrimitive]
// calls it from its own Close.
func (p *Provider) Close() error { return p.client.Close() }

// DefaultMaxSandboxes is the bound of a sandbox.Pool over the provider
// when none is given: [DefaultMaxSandboxes], since E2B sandboxes run
// remotely and the local CPU count says nothing about how many can run.
func (p *Provider) DefaultMaxSandboxes() int { return DefaultMaxSandboxes }

// Client returns the provider's client.
func (p *Provider) Client() *Client { return p.client }

// String describes the provider with its API key redacted.
func (p Provider) String() string {
	if p.client == nil {
		return "e2b.Provider{}"
	}
	return "e2b.Provider{" + p.client.String() + "}"
}

// GoString is String.
func (p Provider) GoString() string { return p.String() }

// Format prints String whatever the verb, so that no verb reaches the
// API key.
func (p Provider) Format(f fmt.State, verb rune) { formatRedacted(f, verb, p.String()) }

// Create creates a sandbox (template, lifetime, env vars and metadata from
// opts, else from the client's configuration; internet access only when
// opts.AllowInternet), waits until its code interpreter answers, creates
// the context its runs use, records the entries of that context's working
// directory (for Reset) and restarts it, so the first run starts on a
// fresh kernel: E2B's creation time plus one execution and one restart.
func (p *Provider) Create(ctx context.Context, opts sandbox.CreateOptions) (sandbox.Sandbox, error) {
	sb, err := p.client.CreateSandbox(ctx, CreateParams{
		Template:     opts.Template,
		Lifetime:     opts.Lifetime,
		Metadata:     opts.Metadata,
		EnvVars:      opts.Env,
		DenyInternet: !opts.AllowInternet,
	})
	if err != nil {
		return nil, err
	}
	cc, err := p.createContextWhenReady(ctx, sb)
	if err != nil {
		p.killDetached(ctx, sb)
		return nil, err
	}
	ps := &providerSandbox{sb: sb, contextID: cc.ID, marker: newRunMarker(), closed: make(chan struct{})}
	if err := ps.recordBaseline(ctx); err != nil {
		p.killDetached(ctx, sb)
		return nil, err
	}
	return ps, nil
}

// createContextWhenReady creates a context, retrying while the sandbox is
// in its startup window and answers 502.
func (p *Provider) createContextWhenReady(ctx context.Context, sb *Sandbox) (CodeContext, error) {
	delay := 50 * time.Millisecond
	for {
		cc, err := sb.CreateContext(ctx, ContextParams{Language: sandbox.LanguagePython})
		var su *SandboxUnavailableError
		if err == nil || !errors.As(err, &su) || !su.Retryable() {
			return cc, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			// The caller gave up: say so (not retryable), naming the
			// sandbox's last answer.
			return cc, wrapf("e2b: waiting for the code interpreter of E2B sandbox %s: %w (last answer: %s)",
				sb.ID, context.Cause(ctx), trimPrefix(err.Error()))
		case <-t.C:
		}
		if delay *= 2; delay > time.Second {
			delay = time.Second
		}
	}
}

// killDetached kills sb even when ctx is already cancelled, bounded by the
// request timeout.
func (p *Provider) killDetached(ctx context.Context, sb *Sandbox) {
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.client.cfg.requestTimeout)
	defer cancel()
	_, _ = sb.Kill(kctx)
}

// providerSandbox adapts a *Sandbox to sandbox.Sandbox.
type providerSandbox struct {
	sb *Sandbox

	mu        sync.Mutex // serialises Run and Reset; guards contextID
	contextID string
	// base is the working directory as created; marker the value of
	// RunMarkerEnv in this sandbox's executions.
	base   baseline
	marker string

	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error
}

func (s *providerSandbox) ID() string { return s.sb.ID }

// String describes the sandbox without its access tokens.
func (s *providerSandbox) String() string { return "e2b provider sandbox " + s.sb.String() }

// Format prints String whatever the verb, so that no verb reaches the
// access tokens.
func (s *providerSandbox) Format(f fmt.State, verb rune) { formatRedacted(f, verb, s.String()) }

func (s *providerSandbox) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// SandboxOf returns the E2B handle behind a sandbox created by a
// [Provider] (for SetTimeout, the contexts API, ...), or false for a
// sandbox of another provider.
func SandboxOf(s sandbox.Sandbox) (*Sandbox, bool) {
	ps, ok := s.(*providerSandbox)
	if !ok {
		return nil, false
	}
	return ps.sb, true
}

// Run executes code in the sandbox's context; another language runs in
// the code interpreter's default context of that language.
func (s *providerSandbox) Run(ctx context.Context, code string, opts sandbox.RunOptions) (*sandbox.Execution, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed() {
		return nil, sandbox.ErrClosed
	}
	env := make(map[string]string, len(opts.Env)+1)
	for k, v := range opts.Env {
		env[k] = v
	}
	env[RunMarkerEnv] = s.marker
	opts.Env = env
	eo := ExecuteOptions{RunOptions: opts}
	if l := normalizeLanguage(opts.Language); l == "" || l == sandbox.LanguagePython {
		eo.Language = ""
		eo.ContextID = s.contextID
	}
	return s.sb.Execute(ctx, code, eo)
}

// Reset gives the next run what a fresh sandbox would have, as far as
// E2B's protocol allows: it kills the processes earlier runs started
// (the kernel's descendants, and any process carrying this sandbox's
// RunMarkerEnv), removes what they added to the working directory, then
// restarts the context's kernel (variables, imports, working directory,
// execution count). If the context is gone, a new one replaces it. It
// costs one execution and one restart (about a second on E2B).
func (s *providerSandbox) Reset(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed() {
		return sandbox.ErrClosed
	}
	if err := s.cleanup(ctx); err != nil {
		var nf *NotFoundError
		if !errors.As(err, &nf) {
			return err
		}
		cc, cerr := s.sb.CreateContext(ctx, ContextParams{Language: sandbox.LanguagePython})
		if cerr != nil {
			return cerr
		}
		s.contextID = cc.ID
		if err := s.cleanup(ctx); err != nil {
			return err
		}
	}
	return s.sb.RestartContext(ctx, s.contextID)
}

// Close kills the sandbox; later calls return the first result. A sandbox
// already gone counts as closed.
func (s *providerSandbox) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		close(s.closed)
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.sb.client.cfg.requestTimeout)
		defer cancel()
		_, s.closeErr = s.sb.Kill(kctx)
	})
	return s.closeErr
}
