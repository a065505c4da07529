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
// as soon as the sandbox answers (which is also the readiness check: a
// 502 within the startup window is retried). Run executes in that context,
// Reset restarts its kernel, Close kills the sandbox. A sandbox whose
// setup fails is killed before Create returns, so nothing leaks.
//
// A Provider is safe for concurrent use.
type Provider struct {
	client *Client
}

var _ sandbox.Provider = (*Provider)(nil)

// NewProvider builds a client (see [NewClient]) and returns its provider.
func NewProvider(opts ...Option) (*Provider, error) {
	c, err := NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return c.Provider(), nil
}

// Provider returns a sandbox.Provider over the client.
func (c *Client) Provider() *Provider { return &Provider{client: c} }

// Name returns "e2b".
func (p *Provider) Name() string { return ProviderName }

// Client returns the provider's client.
func (p *Provider) Client() *Client { return p.client }

// String describes the provider with its API key redacted.
func (p *Provider) String() string { return "e2b.Provider{" + p.client.String() + "}" }

// Create creates a sandbox (template, lifetime, env vars and metadata from
// opts, else from the client's configuration; internet access only when
// opts.AllowInternet), waits until its code interpreter answers and
// creates the context its runs use.
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
	return &providerSandbox{sb: sb, contextID: cc.ID, closed: make(chan struct{})}, nil
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
			return cc, fmt.Errorf("e2b: waiting for the code interpreter of sandbox %s: %w (last answer: %v)", sb.ID, context.Cause(ctx), err)
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

	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error
}

func (s *providerSandbox) ID() string { return s.sb.ID }

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
	eo := ExecuteOptions{RunOptions: opts}
	if l := normalizeLanguage(opts.Language); l == "" || l == sandbox.LanguagePython {
		eo.Language = ""
		eo.ContextID = s.contextID
	}
	return s.sb.Execute(ctx, code, eo)
}

// Reset restarts the context's kernel; if the context is gone, a new one
// replaces it.
func (s *providerSandbox) Reset(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed() {
		return sandbox.ErrClosed
	}
	err := s.sb.RestartContext(ctx, s.contextID)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		cc, cerr := s.sb.CreateContext(ctx, ContextParams{Language: sandbox.LanguagePython})
		if cerr != nil {
			return cerr
		}
		s.contextID = cc.ID
		return nil
	}
	return err
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
