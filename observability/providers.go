package observability

import (
	"context"
	"log/slog"
	"reflect"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Providers selects where a primitive sends its telemetry. The zero value
// means "use the OpenTelemetry globals and slog.Default()", read at every
// execution, so installing a global provider after a primitive was built
// still takes effect.
//
// Providers is a small value; copy it freely. It is safe for concurrent use.
type Providers struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Logger         *slog.Logger
}

// globalDelegate is the tracer provider that the OpenTelemetry API returns
// before any SDK has been installed (a single pointer for the life of the
// process), or nil when a provider was already installed before this
// package was initialised (the API then never returns its delegate again).
var globalDelegate = func() trace.TracerProvider {
	tp := otel.GetTracerProvider()
	if delegateType(tp) == nil {
		return nil
	}
	return tp
}()

// delegateType returns the type of tp when tp is the OpenTelemetry API's
// own global delegate, else nil.
func delegateType(tp trace.TracerProvider) reflect.Type {
	t := reflect.TypeOf(tp)
	if t != nil && t.Kind() == reflect.Pointer && t.Elem().PkgPath() == "go.opentelemetry.io/otel/internal/global" {
		return t
	}
	return nil
}

// TracerProvider returns the explicit provider, else the global one.
func (p Providers) tracerProvider() trace.TracerProvider {
	if p.TracerProvider != nil {
		return p.TracerProvider
	}
	return otel.GetTracerProvider()
}

// Tracer returns the module's tracer and whether spans would be recorded by
// anything. It reports false for the OpenTelemetry global before an SDK was
// installed and for no-op providers; callers then skip spans entirely.
//
// Tracer costs a few nanoseconds and does not allocate when tracing is off.
func (p Providers) Tracer() (trace.Tracer, bool) {
	tp := p.tracerProvider()
	if !TracingInstalled(tp) {
		return nil, false
	}
	return tp.Tracer(ScopeName), true
}

// TracingInstalled reports whether tp can record spans: it is neither the
// OpenTelemetry global delegate with nothing behind it nor a no-op provider.
func TracingInstalled(tp trace.TracerProvider) bool {
	// An interface comparison: the delegate is a pointer, so this never
	// compares values of a non-comparable provider type.
	if tp == nil || tp == globalDelegate {
		return false
	}
	switch tp.(type) {
	case noop.TracerProvider, *noop.TracerProvider:
		return false
	}
	return true
}

// Meter returns the module's meter from the explicit provider, else from
// the global one. It never returns nil.
func (p Providers) Meter() metric.Meter {
	mp := p.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	return mp.Meter(ScopeName)
}

// Log returns the logger to use: the explicit one, else slog.Default().
func (p Providers) Log() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

// StartSpan starts a span named name as a child of the span in ctx, with the
// correlation id of ctx (when it has one) and attrs as attributes. It
// returns ctx unchanged and a nil span when tracing is not installed; End
// accepts that nil span.
func (p Providers) StartSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	tracer, ok := p.Tracer()
	if !ok {
		return ctx, nil
	}
	return StartSpan(ctx, tracer, name, attrs...)
}

// StartSpan starts a span with tracer, adding the correlation id and the
// workflow id carried by ctx.
func StartSpan(ctx context.Context, tracer trace.Tracer, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if c := CorrelatedFrom(ctx); c != nil {
		attrs = append(attrs, attribute.String(AttrCorrelationID, c.CorrelationID()))
		if w := c.WorkflowID(); w != "" {
			attrs = append(attrs, attribute.String(AttrWorkflowID, w))
		}
	}
	return tracer.Start(ctx, name, trace.WithAttributes(attrs...))
}

// End records err on span (status Error with the message, plus an
// exception event) or sets status Ok, then ends the span. A nil span is
// ignored.
func End(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	} else {
		span.SetStatus(codes.Ok, "")
	}
	span.End()
}
