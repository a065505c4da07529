//go:build !linux

package local

import (
	"context"

	"github.com/ttadev/primitives/sandbox"
)

// Provider creates sandboxes on this machine. On this system there is
// none to create: [New] returns [ErrUnsupportedPlatform]. The type exists
// so that programs using the local sandbox on Linux build everywhere.
type Provider struct{}

var _ sandbox.Provider = (*Provider)(nil)

// New checks the options (invalid values panic, as on Linux) and returns
// [ErrUnsupportedPlatform]: the local sandbox needs Linux.
func New(opts ...Option) (*Provider, error) {
	cfg := defaultConfig()
	applyOptions(&cfg, opts)
	return nil, ErrUnsupportedPlatform
}

// Name returns "local".
func (p *Provider) Name() string { return "local" }

// Interpreter returns "": no interpreter is used on this system.
func (p *Provider) Interpreter() string { return "" }

// Isolation returns the zero Isolation: nothing isolates on this system.
func (p *Provider) Isolation() Isolation { return Isolation{} }

// Create returns [ErrUnsupportedPlatform].
func (p *Provider) Create(context.Context, sandbox.CreateOptions) (sandbox.Sandbox, error) {
	return nil, ErrUnsupportedPlatform
}

// Close does nothing and returns nil.
func (p *Provider) Close() error { return nil }

// Sandbox is one local sandbox; on this system none can be created.
type Sandbox struct{}

var _ sandbox.Sandbox = (*Sandbox)(nil)

// ID returns "".
func (s *Sandbox) ID() string { return "" }

// Isolation returns the zero Isolation.
func (s *Sandbox) Isolation() Isolation { return Isolation{} }

// Run returns [ErrUnsupportedPlatform].
func (s *Sandbox) Run(context.Context, string, sandbox.RunOptions) (*sandbox.Execution, error) {
	return nil, ErrUnsupportedPlatform
}

// Reset returns [ErrUnsupportedPlatform].
func (s *Sandbox) Reset(context.Context) error { return ErrUnsupportedPlatform }

// Close returns nil.
func (s *Sandbox) Close(context.Context) error { return nil }

// cgroups exists on Linux only; elsewhere the option that sets it is
// never used.
type cgroups struct{}
