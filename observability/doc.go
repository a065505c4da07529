// Package observability is the one place where the module's OpenTelemetry
// and log/slog conventions live: every span and metric name, the resolution
// of tracer and meter providers (explicit ones from options, otherwise the
// OpenTelemetry globals), and the correlation id that every span and log
// record carries.
//
// The package depends on the OpenTelemetry API only (never on the SDK) and on
// nothing else of this module, so every other package may import it.
//
// # Cost when nothing is installed
//
// When no tracer provider has been installed (the OpenTelemetry global is
// still its built-in delegate, or a no-op provider is given),
// [Providers.Tracer] reports false and callers skip span creation entirely, so instrumented
// primitives allocate nothing for observability.
//
// # Correlation
//
// The root package stores its WorkflowContext in a context.Context through
// [ContextWithCorrelated]; this package reads the correlation id back with
// [CorrelationID] to put it on every span ([AttrCorrelationID]) and every
// log record ([Log], [NewLogHandler]).
package observability
