package recovery

import (
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/ttadev/primitives/observability"
)

// RetryOption configures [Retry].
type RetryOption interface{ applyRetry(*retryConfig) }

// FallbackOption configures [Fallback] (through [FallbackChain.With]).
type FallbackOption interface{ applyFallback(*fallbackConfig) }

// TimeoutOption configures [Timeout].
type TimeoutOption interface{ applyTimeout(*timeoutConfig) }

// BreakerOption configures [CircuitBreaker].
type BreakerOption interface{ applyBreaker(*breakerConfig) }

// SagaOption configures [Saga] (through [SagaFlow.With]).
type SagaOption interface{ applySaga(*sagaConfig) }

// TelemetryOption selects where a recovery primitive sends its spans and
// logs. It is accepted by every constructor of this package. Without one,
// the OpenTelemetry globals and slog.Default() are used, read at each
// execution.
type TelemetryOption struct {
	set func(*observability.Providers)
}

func (o TelemetryOption) applyRetry(c *retryConfig)       { o.set(&c.telemetry) }
func (o TelemetryOption) applyFallback(c *fallbackConfig) { o.set(&c.telemetry) }
func (o TelemetryOption) applyTimeout(c *timeoutConfig)   { o.set(&c.telemetry) }
func (o TelemetryOption) applyBreaker(c *breakerConfig)   { o.set(&c.telemetry) }
func (o TelemetryOption) applySaga(c *sagaConfig)         { o.set(&c.telemetry) }

// WithTelemetry sets the tracer provider, meter provider and logger at once.
// Zero fields fall back to the OpenTelemetry globals and slog.Default().
func WithTelemetry(p observability.Providers) TelemetryOption {
	return TelemetryOption{set: func(dst *observability.Providers) { *dst = p }}
}

// WithTracerProvider sends spans to tp instead of the global provider.
func WithTracerProvider(tp trace.TracerProvider) TelemetryOption {
	return TelemetryOption{set: func(dst *observability.Providers) { dst.TracerProvider = tp }}
}

// WithLogger logs through l instead of slog.Default().
func WithLogger(l *slog.Logger) TelemetryOption {
	return TelemetryOption{set: func(dst *observability.Providers) { dst.Logger = l }}
}

// checkOption panics when an option is nil (a nil interface, or a
// TelemetryOption built as a zero value).
func checkOption(constructor string, i int, o any) {
	if o == nil {
		panic(fmt.Sprintf("recovery: %s: option %d is nil", constructor, i))
	}
	if t, ok := o.(TelemetryOption); ok && t.set == nil {
		panic(fmt.Sprintf("recovery: %s: option %d is a zero TelemetryOption", constructor, i))
	}
}
