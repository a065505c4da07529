// Package codeexec builds the code-execution primitive on the backend the
// environment asks for: E2B's cloud when E2B_API_KEY is set, otherwise the
// isolated local sandbox, which needs no account and no network. It
// always logs which backend it chose, and why.
package codeexec

import (
	"log/slog"
	"os"
	"strings"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

// Option configures [FromEnv].
type Option func(*config)

type config struct {
	e2b    []e2b.Option
	local  []local.Option
	code   []sandbox.CodeOption
	logger *slog.Logger
}

// WithE2BOptions applies opts when the E2B backend is chosen.
func WithE2BOptions(opts ...e2b.Option) Option {
	return func(c *config) { c.e2b = append(c.e2b, opts...) }
}

// WithLocalOptions applies opts when the local backend is chosen.
func WithLocalOptions(opts ...local.Option) Option {
	return func(c *config) { c.local = append(c.local, opts...) }
}

// WithCodeOptions applies opts to the primitive whichever backend is
// chosen (sandbox.WithTimeout, sandbox.WithMaxOutputSize, pool options...).
func WithCodeOptions(opts ...sandbox.CodeOption) Option {
	for _, o := range opts {
		if o == nil {
			panic("codeexec: WithCodeOptions: nil option")
		}
	}
	return func(c *config) { c.code = append(c.code, opts...) }
}

// WithLogger logs the choice through l instead of slog.Default(). A nil l
// panics.
func WithLogger(l *slog.Logger) Option {
	if l == nil {
		panic("codeexec: WithLogger: logger is nil")
	}
	return func(c *config) { c.logger = l }
}

// Backend names, as logged and as returned by the primitive's provider.
const (
	BackendE2B   = e2b.ProviderName
	BackendLocal = "local"
)

// FromEnv returns the code-execution primitive on E2B when E2B_API_KEY is
// set (the key, E2B_DOMAIN and the other E2B variables configure it), and
// on the local sandbox otherwise. It logs one Info record, "code execution
// backend", with backend and reason, never the key. Errors are those of
// e2b.NewClient (a malformed key) or local.New (isolation unavailable, no
// Python). Close the primitive when done.
func FromEnv(opts ...Option) (*sandbox.CodeExecution, error) {
	cfg := config{logger: slog.Default()}
	for _, o := range opts {
		if o == nil {
			panic("codeexec: FromEnv: nil option")
		}
		o(&cfg)
	}
	if strings.TrimSpace(os.Getenv(e2b.EnvAPIKey)) != "" {
		cfg.logger.Info("code execution backend", "backend", BackendE2B, "reason", e2b.EnvAPIKey+" is set")
		eo := append(cfg.e2b, e2b.WithCodeOptions(cfg.code...))
		return e2b.NewCodeExecutionPrimitive(eo...)
	}
	cfg.logger.Info("code execution backend", "backend", BackendLocal, "reason", e2b.EnvAPIKey+" is not set")
	p, err := local.New(cfg.local...)
	if err != nil {
		return nil, err
	}
	return sandbox.NewCodeExecution(p, cfg.code...), nil
}
