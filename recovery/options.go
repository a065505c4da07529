package recovery

import (
	"fmt"

	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/observability"
)

// Each constructor of this package takes options of its own type, so an
// option meant for another constructor does not compile. The telemetry
// option of the module, observability.Option (observability.WithTracerProvider,
// WithMeterProvider, WithLogger, WithProviders), is accepted by all of
// them; without it the OpenTelemetry globals and slog.Default() are used,
// read at each execution.

// RetryOption configures [Retry].
type RetryOption interface{ ForRetry(seal.Token) }

// FallbackOption configures [Fallback] (through [FallbackChain.With]).
type FallbackOption interface{ ForFallback(seal.Token) }

// TimeoutOption configures [Timeout].
type TimeoutOption interface{ ForTimeout(seal.Token) }

// BreakerOption configures [CircuitBreaker].
type BreakerOption interface{ ForCircuitBreaker(seal.Token) }

type retryOptionFunc func(*retryConfig)

func (retryOptionFunc) ForRetry(seal.Token) {}

type fallbackOptionFunc func(*fallbackConfig)

func (fallbackOptionFunc) ForFallback(seal.Token) {}

type timeoutOptionFunc func(*timeoutConfig)

func (timeoutOptionFunc) ForTimeout(seal.Token) {}

type breakerOptionFunc func(*breakerConfig)

func (breakerOptionFunc) ForCircuitBreaker(seal.Token) {}

// applyOptions applies opts in order: an observability.Option to tel, an
// option of the constructor through apply (which reports whether it knew
// the option). A nil or foreign option panics.
func applyOptions[O any](constructor string, opts []O, tel *observability.Providers, apply func(O) bool) {
	for i, o := range opts {
		switch v := any(o).(type) {
		case nil:
			panic(fmt.Sprintf("recovery: %s: option %d is nil", constructor, i))
		case observability.Option:
			if v.IsZero() {
				panic(fmt.Sprintf("recovery: %s: option %d is the zero observability.Option", constructor, i))
			}
			v.ApplyTo(tel)
		default:
			if !apply(o) {
				panic(fmt.Sprintf("recovery: %s: option %d (%T) is not an option of %s", constructor, i, o, constructor))
			}
		}
	}
}
