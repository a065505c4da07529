package sandbox

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/ttadev/primitives/observability"
)

// codeInstruments are TTA.dev's four metrics. The instrument names are
// the names a Prometheus scrape shows (the OpenTelemetry Prometheus
// exporter adds no suffix to a counter already ending in _total nor to a
// histogram already ending in its unit, _seconds), so the scrape shows
// exactly code_execution_requests_total, code_execution_success_total,
// code_execution_error_total and code_execution_duration_seconds.
type codeInstruments struct {
	requests metric.Int64Counter
	success  metric.Int64Counter
	errors   metric.Int64Counter
	duration metric.Float64Histogram
}

// codeInstrumentCache holds the instruments per meter, so that they are
// created once per meter provider rather than at every execution.
var codeInstrumentCache = observability.NewInstrumentCache(func(m metric.Meter) *codeInstruments {
	var inst codeInstruments
	var errs [4]error
	inst.requests, errs[0] = m.Int64Counter(observability.MetricCodeRequests,
		metric.WithDescription("Code executions requested."))
	inst.success, errs[1] = m.Int64Counter(observability.MetricCodeSuccess,
		metric.WithDescription("Code executions whose code ran without raising."))
	inst.errors, errs[2] = m.Int64Counter(observability.MetricCodeErrors,
		metric.WithDescription("Code executions that failed, by error.type (user_code, timeout, invalid_input, canceled, sandbox)."))
	inst.duration, errs[3] = m.Float64Histogram(observability.MetricCodeDuration,
		metric.WithDescription("Duration of code executions, including acquiring a sandbox."),
		metric.WithUnit("s"))
	for _, err := range errs {
		if err != nil {
			// The API returns usable no-op instruments with the error.
			otel.Handle(err)
		}
	}
	return &inst
})

// codeAttrs holds the metric attribute sets of one primitive, built once.
type codeAttrs struct {
	provider   metric.MeasurementOption
	durOK      metric.MeasurementOption
	durFail    metric.MeasurementOption
	errorTypes map[string]metric.MeasurementOption
}

func newCodeAttrs(provider string) codeAttrs {
	prov := attribute.String(observability.AttrSandboxProvider, provider)
	a := codeAttrs{
		provider:   metric.WithAttributeSet(attribute.NewSet(prov)),
		durOK:      metric.WithAttributeSet(attribute.NewSet(prov, attribute.Bool(observability.AttrSuccess, true))),
		durFail:    metric.WithAttributeSet(attribute.NewSet(prov, attribute.Bool(observability.AttrSuccess, false))),
		errorTypes: map[string]metric.MeasurementOption{},
	}
	for _, t := range []string{
		observability.ErrorTypeUserCode, observability.ErrorTypeTimeout,
		observability.ErrorTypeInvalidInput, observability.ErrorTypeCanceled,
		observability.ErrorTypeSandbox,
	} {
		a.errorTypes[t] = metric.WithAttributeSet(attribute.NewSet(prov, attribute.String(observability.AttrErrorType, t)))
	}
	return a
}

// record adds one execution to the metrics.
func (c *CodeExecution) record(ctx context.Context, seconds float64, errorType string) {
	inst := codeInstrumentCache.For(c.telemetry.Meter())
	inst.requests.Add(ctx, 1, c.attrs.provider)
	if errorType == "" {
		inst.success.Add(ctx, 1, c.attrs.provider)
		inst.duration.Record(ctx, seconds, c.attrs.durOK)
		return
	}
	inst.errors.Add(ctx, 1, c.attrs.errorTypes[errorType])
	inst.duration.Record(ctx, seconds, c.attrs.durFail)
}
