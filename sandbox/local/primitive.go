package local

import (
	"fmt"

	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
)

// PrimitiveOption configures [NewCodeExecutionPrimitive]: every [Option]
// of [New] (they configure the provider it builds), [WithCodeOptions]
// (they configure the primitive and its pool), and the telemetry option
// observability.Option (it reaches the provider, the pool and the
// primitive at once).
type PrimitiveOption interface {
	ForLocalPrimitive(seal.Token)
}

type primitiveOption func(*primitiveConfig)

func (primitiveOption) ForLocalPrimitive(seal.Token) {}

type primitiveConfig struct {
	codeOpts []sandbox.CodeOption
}

// WithCodeOptions passes options to the primitive built by
// [NewCodeExecutionPrimitive] and its pool (sandbox.WithTimeout,
// sandbox.WithPipInstall, sandbox.SessionMode, sandbox.MaxSandboxes, ...).
// A nil option panics.
func WithCodeOptions(opts ...sandbox.CodeOption) PrimitiveOption {
	for i, o := range opts {
		if o == nil {
			panic(fmt.Sprintf("local: WithCodeOptions: option %d is nil", i))
		}
	}
	return primitiveOption(func(c *primitiveConfig) { c.codeOpts = append(c.codeOpts, opts...) })
}

// NewCodeExecutionPrimitive is TTA.dev's CodeExecutionPrimitive on this
// machine, in one call: it builds a [Provider] with the [Option] values
// among opts (as [New] does, probing and logging once per process) and a
// sandbox.CodeExecution over it with the options given in
// [WithCodeOptions], with TTA.dev's defaults (30 s timeout, 10,000
// characters of output per stream, no network, a stateless pool bounded
// by the CPU count).
//
// The primitive owns its provider (sandbox.OwnProvider): one call to its
// Close closes the pool, then the provider and every sandbox it still
// has. There is nothing else to close. (With [New] and
// sandbox.NewCodeExecution instead, the caller closes the primitive and
// then the provider.)
//
// It fails as New does (no usable interpreter, isolation unavailable);
// nothing is started until the first execution. A nil option, an option
// of another package and invalid option values panic. The primitive is
// safe for concurrent use.
func NewCodeExecutionPrimitive(opts ...PrimitiveOption) (*sandbox.CodeExecution, error) {
	var providerOpts []Option
	var pc primitiveConfig
	codeOpts := []sandbox.CodeOption{sandbox.OwnProvider()}
	for i, o := range opts {
		switch o := o.(type) {
		case option:
			providerOpts = append(providerOpts, o)
		case observability.Option:
			if o.IsZero() {
				panic(fmt.Sprintf("local: NewCodeExecutionPrimitive: option %d is the zero observability.Option", i))
			}
			providerOpts = append(providerOpts, o)
			codeOpts = append(codeOpts, o)
		case primitiveOption:
			o(&pc)
		case nil:
			panic(fmt.Sprintf("local: NewCodeExecutionPrimitive: option %d is nil", i))
		default:
			panic(fmt.Sprintf("local: NewCodeExecutionPrimitive: option %d (%T) is not an option of this package", i, o))
		}
	}
	p, err := New(providerOpts...)
	if err != nil {
		return nil, err
	}
	return sandbox.NewCodeExecution(p, append(codeOpts, pc.codeOpts...)...), nil
}
