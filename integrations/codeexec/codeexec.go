// Package codeexec builds the code-execution primitive on the backend the
// environment asks for: E2B's cloud when E2B_API_KEY is set, otherwise the
// isolated local sandbox, which needs no account and no network. It
// always logs which backend it chose, and why.
package codeexec

import (
	"fmt"
	"os"
	"strings"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

// Option configures [FromEnv]: the options of this package, and the
// telemetry options of package observability, which reach everything
// FromEnv builds (the backend, its pool and the primitive) as well as
// FromEnv's own log record.
type Option interface {
	ForFromEnv(seal.Token)
}

type option func(*config)

func (option) ForFromEnv(seal.Token) {}

type config struct {
	e2b       []e2b.PrimitiveOption
	local     []local.Option
	code      []sandbox.CodeOption
	telemetry []observability.Option
}

// WithE2BOptions applies opts to e2b.NewCodeExecutionPrimitive when the
// E2B backend is chosen (client options such as e2b.WithTemplate, and the
// primitive's own, such as e2b.WithPipInstall). A nil option panics.
func WithE2BOptions(opts ...e2b.PrimitiveOption) Option {
	for _, o := range opts {
		if o == nil {
			panic("codeexec: WithE2BOptions: nil option")
		}
	}
	return option(func(c *config) { c.e2b = append(c.e2b, opts...) })
}

// WithLocalOptions applies opts when the local backend is chosen.
func WithLocalOptions(opts ...local.Option) Option {
	return option(func(c *config) { c.local = append(c.local, opts...) })
}

// WithCodeOptions applies opts to the primitive whichever backend is
// chosen (sandbox.WithTimeout, sandbox.WithMaxOutputSize, pool options...).
func WithCodeOptions(opts ...sandbox.CodeOption) Option {
	for _, o := range opts {
		if o == nil {
			panic("codeexec: WithCodeOptions: nil option")
		}
	}
	return option(func(c *config) { c.code = append(c.code, opts...) })
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
	var cfg config
	for i, o := range opts {
		switch o := o.(type) {
		case option:
			o(&cfg)
		case observability.Option:
			if o.IsZero() {
				panic(fmt.Sprintf("codeexec: FromEnv: option %d is the zero observability.Option", i))
			}
			cfg.telemetry = append(cfg.telemetry, o)
		case nil:
			panic(fmt.Sprintf("codeexec: FromEnv: option %d is nil", i))
		default:
			panic(fmt.Sprintf("codeexec: FromEnv: option %d (%T) is not an option of this package", i, o))
		}
	}
	logger := observability.Providers{}.With(cfg.telemetry...).Log()
	if strings.TrimSpace(os.Getenv(e2b.EnvAPIKey)) != "" {
		logger.Info("code execution backend", "backend", BackendE2B, "reason", e2b.EnvAPIKey+" is set")
		// The telemetry options reach the E2B client, and through the
		// primitive its pool.
		eo := append([]e2b.PrimitiveOption(nil), cfg.e2b...)
		for _, t := range cfg.telemetry {
			eo = append(eo, t)
		}
		eo = append(eo, e2b.WithCodeOptions(cfg.code...))
		return e2b.NewCodeExecutionPrimitive(eo...)
	}
	code := cfg.code
	for _, t := range cfg.telemetry {
		code = append(code, t)
	}
	logger.Info("code execution backend", "backend", BackendLocal, "reason", e2b.EnvAPIKey+" is not set")
	lo := cfg.local
	for _, t := range cfg.telemetry {
		lo = append(lo, t)
	}
	p, err := local.New(lo...)
	if err != nil {
		return nil, err
	}
	return sandbox.NewCodeExecution(p, code...), nil
}
