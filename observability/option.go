package observability

import (
	"log/slog"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option selects where a primitive sends its spans, metrics and log
// records. It is the one telemetry option of the module: every constructor
// accepts it next to its own options, so one value configures a whole
// pipeline the same way:
//
//	tel := observability.WithTracerProvider(tp)
//	exec := sandbox.NewCodeExecution(provider, sandbox.WithTimeout(time.Minute), tel)
//	r := recovery.Retry(exec, recovery.MaxRetries(3), tel)
//	c := performance.Cache(r, performance.TTL(time.Hour), tel)
//
// Without an Option a primitive uses the OpenTelemetry globals and
// slog.Default(), read when it runs, so a provider installed after the
// primitive was built still takes effect. Options apply in order; a later
// one replaces what an earlier one set.
//
// The ForX methods only mark Option as accepted by constructor X; they do
// nothing, and code outside the module cannot call them meaningfully.
// Authors of their own primitives accept Options with [Providers.With].
type Option struct {
	set func(*Providers)
}

// WithTracerProvider sends spans to tp instead of the global tracer
// provider. A nil tp means the global one.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return Option{set: func(p *Providers) { p.TracerProvider = tp }}
}

// WithMeterProvider sends metrics to mp instead of the global meter
// provider. A nil mp means the global one.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return Option{set: func(p *Providers) { p.MeterProvider = mp }}
}

// WithLogger writes log records through l instead of slog.Default(). A nil
// l means slog.Default().
func WithLogger(l *slog.Logger) Option {
	return Option{set: func(p *Providers) { p.Logger = l }}
}

// WithProviders sets the tracer provider, meter provider and logger at
// once; zero fields mean the globals and slog.Default().
func WithProviders(providers Providers) Option {
	return Option{set: func(p *Providers) { *p = providers }}
}

// With returns p with opts applied in order. It panics when an option is
// the zero Option, which selects nothing and is a programmer error.
func (p Providers) With(opts ...Option) Providers {
	for _, o := range opts {
		o.ApplyTo(&p)
	}
	return p
}

// IsZero reports whether o is the zero Option, which selects nothing.
// Constructors refuse it.
func (o Option) IsZero() bool { return o.set == nil }

// ApplyTo applies o to *p. The module's constructors call it; it panics
// when o is the zero Option.
func (o Option) ApplyTo(p *Providers) {
	if o.set == nil {
		panic("observability: zero Option (build one with WithTracerProvider, WithMeterProvider, WithLogger or WithProviders)")
	}
	o.set(p)
}
