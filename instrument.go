package primitives

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/ttadev/primitives/observability"
)

// Instrument wraps p so that every execution is observable: a span named
// "primitive.<name>", the metrics primitive_executions_total (with
// attributes primitive and success) and primitive_duration_seconds, and a
// debug log record with the correlation id. It panics at construction when
// p is nil or name is empty.
//
// Metrics go to the meter provider from the options or the global one;
// with neither installed they cost a few atomic operations. Instrument is
// safe for concurrent use.
//
// Invariants (docs/architecture.md): all hold. A done context returns
// its cause before the span starts; errors pass unchanged; a panic of p
// goes on to the caller.
func Instrument[In, Out any](name string, p Primitive[In, Out], opts ...observability.Option) Primitive[In, Out] {
	if name == "" {
		panic("primitives: Instrument: name is empty")
	}
	mustPrimitive("Instrument", "primitive", p)
	return &instrumented[In, Out]{
		name:     name,
		spanName: observability.SpanPrimitivePrefix + name,
		inner:    p,
		tel:      observability.Providers{}.With(opts...),
		attrOK:   metric.WithAttributeSet(attribute.NewSet(attribute.String(observability.AttrPrimitive, name), attribute.Bool(observability.AttrSuccess, true))),
		attrFail: metric.WithAttributeSet(attribute.NewSet(attribute.String(observability.AttrPrimitive, name), attribute.Bool(observability.AttrSuccess, false))),
	}
}

type instrumented[In, Out any] struct {
	name, spanName   string
	inner            Primitive[In, Out]
	tel              observability.Providers
	attrOK, attrFail metric.MeasurementOption
}

func (*instrumented[In, Out]) checksContext() {}

func (w *instrumented[In, Out]) Execute(ctx context.Context, in In) (Out, error) {
	if err := cause(ctx); err != nil {
		var zero Out
		return zero, err
	}
	start := time.Now()
	ctx, span := w.tel.StartSpan(ctx, w.spanName, attribute.String(observability.AttrPrimitive, w.name))
	out, err := w.inner.Execute(ctx, in)
	observability.End(span, err)

	elapsed := time.Since(start)
	inst := primitiveInstrumentCache.For(w.tel.Meter())
	attrs := w.attrOK
	if err != nil {
		attrs = w.attrFail
	}
	inst.executions.Add(ctx, 1, attrs)
	inst.duration.Record(ctx, elapsed.Seconds(), attrs)
	observability.Log(ctx, w.tel.Log(), slog.LevelDebug, "primitive executed",
		slog.String(observability.AttrPrimitive, w.name),
		slog.Bool(observability.AttrSuccess, err == nil),
		slog.Float64(observability.AttrExecutionTimeMS, float64(elapsed.Microseconds())/1000))
	return out, err
}

type primitiveInstruments struct {
	executions metric.Int64Counter
	duration   metric.Float64Histogram
}

var primitiveInstrumentCache = observability.NewInstrumentCache(func(m metric.Meter) *primitiveInstruments {
	exec, err1 := m.Int64Counter(observability.MetricPrimitiveExecutions,
		metric.WithDescription("Executions of instrumented primitives."))
	dur, err2 := m.Float64Histogram(observability.MetricPrimitiveDuration,
		metric.WithDescription("Duration of instrumented primitives."), metric.WithUnit("s"))
	if err1 != nil || err2 != nil {
		// The API returns usable no-op instruments alongside the error.
		otelError(fmt.Errorf("primitives: creating instruments: %v %v", err1, err2))
	}
	return &primitiveInstruments{executions: exec, duration: dur}
})
