package performance

import (
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ttadev/primitives/observability"
)

// CacheOption configures [Cache].
type CacheOption interface{ applyCache(*cacheConfig) }

// BulkheadOption configures [Bulkhead].
type BulkheadOption interface{ applyBulkhead(*bulkheadConfig) }

// RateLimitOption configures [RateLimit].
type RateLimitOption interface{ applyRateLimit(*rateLimitConfig) }

// TelemetryOption selects where a primitive of this package sends its
// spans, metrics and logs; every constructor accepts it. Without one, the
// OpenTelemetry globals and slog.Default() are used. Spans read the global
// tracer provider at each execution; metric instruments are created once,
// at construction, from the meter provider then in force (the OpenTelemetry
// global forwards them to a provider installed later).
type TelemetryOption struct {
	set func(*observability.Providers)
}

func (o TelemetryOption) applyCache(c *cacheConfig)         { o.set(&c.telemetry) }
func (o TelemetryOption) applyBulkhead(c *bulkheadConfig)   { o.set(&c.telemetry) }
func (o TelemetryOption) applyRateLimit(c *rateLimitConfig) { o.set(&c.telemetry) }

// WithTelemetry sets the tracer provider, meter provider and logger at once.
// Zero fields fall back to the OpenTelemetry globals and slog.Default().
func WithTelemetry(p observability.Providers) TelemetryOption {
	return TelemetryOption{set: func(dst *observability.Providers) { *dst = p }}
}

// WithTracerProvider sends spans to tp instead of the global provider.
func WithTracerProvider(tp trace.TracerProvider) TelemetryOption {
	return TelemetryOption{set: func(dst *observability.Providers) { dst.TracerProvider = tp }}
}

// WithMeterProvider sends metrics to mp instead of the global provider.
func WithMeterProvider(mp metric.MeterProvider) TelemetryOption {
	return TelemetryOption{set: func(dst *observability.Providers) { dst.MeterProvider = mp }}
}

// WithLogger logs through l instead of slog.Default().
func WithLogger(l *slog.Logger) TelemetryOption {
	return TelemetryOption{set: func(dst *observability.Providers) { dst.Logger = l }}
}

// NameOption names a cache, bulkhead or rate limit in its metrics and
// spans (attribute "cache.name" or "limit.name"), so that several of them
// can be told apart. Build it with [Name].
type NameOption struct{ name string }

func (o NameOption) applyCache(c *cacheConfig)         { c.name = o.name }
func (o NameOption) applyBulkhead(c *bulkheadConfig)   { c.name = o.name }
func (o NameOption) applyRateLimit(c *rateLimitConfig) { c.name = o.name }

// Name names a primitive in its metrics and spans. An empty name panics.
func Name(name string) NameOption {
	if name == "" {
		panic("performance: Name: name is empty")
	}
	return NameOption{name: name}
}

// checkOption panics when an option is nil or a zero TelemetryOption.
func checkOption(constructor string, i int, o any) {
	if o == nil {
		panic(fmt.Sprintf("performance: %s: option %d is nil", constructor, i))
	}
	switch v := o.(type) {
	case TelemetryOption:
		if v.set == nil {
			panic(fmt.Sprintf("performance: %s: option %d is a zero TelemetryOption", constructor, i))
		}
	case NameOption:
		if v.name == "" {
			panic(fmt.Sprintf("performance: %s: option %d is a zero NameOption", constructor, i))
		}
	}
}
