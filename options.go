package primitives

import (
	"fmt"

	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/observability"
)

// Telemetry of the combinators of this package: [Chain.With] and
// [Instrument] take observability.Option values (observability.WithTracerProvider,
// WithMeterProvider, WithLogger, WithProviders), the one telemetry option
// of the module; [Fanout.With] takes a [ParallelOption], which
// observability.Option also is.

// ParallelOption configures [Parallel] through [Fanout.With]:
// [MaxConcurrency], [CollectAll], and the telemetry options of package
// observability. Options of other combinators do not compile here.
type ParallelOption interface {
	ForParallel(seal.Token)
}

type parallelConfig struct {
	telemetry      observability.Providers
	maxConcurrency int
	collectAll     bool
}

type parallelOption func(*parallelConfig)

func (parallelOption) ForParallel(seal.Token) {}

// with returns c with opts applied on top of it.
func (c parallelConfig) with(opts []ParallelOption) parallelConfig {
	for i, o := range opts {
		switch o := o.(type) {
		case parallelOption:
			o(&c)
		case observability.Option:
			if o.IsZero() {
				panic(fmt.Sprintf("primitives: Parallel: option %d is the zero observability.Option", i))
			}
			o.ApplyTo(&c.telemetry)
		case nil:
			panic(fmt.Sprintf("primitives: Parallel: option %d is nil", i))
		default:
			panic(fmt.Sprintf("primitives: Parallel: option %d (%T) is not an option of Parallel", i, o))
		}
	}
	return c
}

// MaxConcurrency bounds how many Parallel branches run at once; 0 means no
// bound. A negative n panics.
func MaxConcurrency(n int) ParallelOption {
	if n < 0 {
		panic(fmt.Sprintf("primitives: MaxConcurrency(%d): bound must be >= 0", n))
	}
	return parallelOption(func(c *parallelConfig) { c.maxConcurrency = n })
}

// CollectAll makes Parallel run every branch to completion even when some
// fail, and return every result together with all errors joined by
// errors.Join, instead of cancelling the others on the first error.
func CollectAll() ParallelOption {
	return parallelOption(func(c *parallelConfig) { c.collectAll = true })
}
