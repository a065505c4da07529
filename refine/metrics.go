package refine

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/ttadev/primitives/observability"
)

// instruments are the loop's two metrics, built once per meter.
type instruments struct {
	runs     metric.Int64Counter
	attempts metric.Int64Histogram
}

var instrumentCache = observability.NewInstrumentCache(func(m metric.Meter) *instruments {
	var inst instruments
	var errs [2]error
	inst.runs, errs[0] = m.Int64Counter(observability.MetricRefinementRuns,
		metric.WithDescription("Finished runs of a refinement loop, by refinement.outcome (success, max_attempts, token_budget, error)."))
	inst.attempts, errs[1] = m.Int64Histogram(observability.MetricRefinementAttempts,
		metric.WithDescription("Attempts used by a run of a refinement loop, by refinement.outcome."),
		metric.WithExplicitBucketBoundaries(1, 2, 3, 4, 5, 6, 8, 10, 15, 20))
	for _, err := range errs {
		if err != nil {
			otel.Handle(err) // the API returns usable no-op instruments with the error
		}
	}
	return &inst
})

// outcomeSets holds the attribute set of each outcome, built once.
var outcomeSets = func() map[string]metric.MeasurementOption {
	m := map[string]metric.MeasurementOption{}
	for _, o := range []string{observability.RefinementOutcomeSuccess, observability.RefinementOutcomeMaxAttempts,
		observability.RefinementOutcomeTokenBudget, observability.RefinementOutcomeError} {
		m[o] = metric.WithAttributeSet(attribute.NewSet(attribute.String(observability.AttrRefinementOutcome, o)))
	}
	return m
}()

// record adds a finished run to the metrics.
func (r *run) record(ctx context.Context, err error) {
	outcome := observability.RefinementOutcomeSuccess
	switch {
	case r.stop == StopMaxAttempts:
		outcome = observability.RefinementOutcomeMaxAttempts
	case r.stop == StopTokenBudget:
		outcome = observability.RefinementOutcomeTokenBudget
	case err != nil:
		outcome = observability.RefinementOutcomeError
	}
	inst := instrumentCache.For(r.l.telemetry.Meter())
	set := outcomeSets[outcome]
	inst.runs.Add(ctx, 1, set)
	inst.attempts.Record(ctx, int64(r.started), set)
}
