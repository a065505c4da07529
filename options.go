package primitives

import (
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ttadev/primitives/observability"
)

// Option configures a combinator of this package. Telemetry options apply
// to every combinator that reports spans; [MaxConcurrency] and [CollectAll]
// apply to [Parallel] only and are ignored elsewhere.
type Option func(*config)

type config struct {
	telemetry      observability.Providers
	maxConcurrency int
	collectAll     bool
}

func newConfig(opts []Option) config {
	return config{}.with(opts)
}

// with returns c with opts applied on top of it.
func (c config) with(opts []Option) config {
	for _, o := range opts {
		if o == nil {
			panic("primitives: nil Option")
		}
		o(&c)
	}
	return c
}

// WithTelemetry sets the tracer provider, meter provider and logger at once.
// Zero fields fall back to the OpenTelemetry globals and slog.Default().
func WithTelemetry(p observability.Providers) Option {
	return func(c *config) { c.telemetry = p }
}

// WithTracerProvider sends spans to tp instead of the global provider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.telemetry.TracerProvider = tp }
}

// WithMeterProvider sends metrics to mp instead of the global provider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.telemetry.MeterProvider = mp }
}

// WithLogger logs through l instead of slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.telemetry.Logger = l }
}

// MaxConcurrency bounds how many Parallel branches run at once; 0 means no
// bound. A negative n panics.
func MaxConcurrency(n int) Option {
	if n < 0 {
		panic(fmt.Sprintf("primitives: MaxConcurrency(%d): bound must be >= 0", n))
	}
	return func(c *config) { c.maxConcurrency = n }
}

// CollectAll makes Parallel run every branch to completion even when some
// fail, and return every result together with all errors joined by
// errors.Join, instead of cancelling the others on the first error.
func CollectAll() Option {
	return func(c *config) { c.collectAll = true }
}
