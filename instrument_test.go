package primitives_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	p "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

func TestInstrumentReportsSpanMetricsAndLogs(t *testing.T) {
	rec, tp := newRecorder(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	boom := errors.New("boom")
	step := p.Func[int, int](func(_ context.Context, n int) (int, error) {
		if n < 0 {
			return 0, boom
		}
		return n, nil
	})
	inst := p.Instrument("validate", step, observability.WithTracerProvider(tp), observability.WithMeterProvider(mp), observability.WithLogger(logger))
	ctx := p.WithWorkflow(context.Background(), p.NewWorkflowContext(p.CorrelationID("exec-7")))
	for _, n := range []int{1, 2, -1} {
		_, _ = inst.Execute(ctx, n)
	}

	spans := rec.Ended()
	if len(spans) != 3 || spans[0].Name() != "primitive.validate" {
		t.Fatalf("spans %d %v", len(spans), spans)
	}
	wantAttr(t, spans[2].Attributes(), "correlation_id", "exec-7")

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	counts := map[bool]int64{}
	var histCount uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				if m.Name != "primitive_executions_total" {
					continue
				}
				for _, dp := range data.DataPoints {
					ok, _ := dp.Attributes.Value(attribute.Key("success"))
					name, _ := dp.Attributes.Value(attribute.Key("primitive"))
					if name.AsString() != "validate" {
						t.Fatalf("primitive attribute %q", name.AsString())
					}
					counts[ok.AsBool()] += dp.Value
				}
			case metricdata.Histogram[float64]:
				if m.Name == "primitive_duration_seconds" && m.Unit == "s" {
					for _, dp := range data.DataPoints {
						histCount += dp.Count
					}
				}
			}
		}
	}
	if counts[true] != 2 || counts[false] != 1 || histCount != 3 {
		t.Fatalf("counts %v histogram count %d", counts, histCount)
	}
	if n := strings.Count(logs.String(), `"correlation_id":"exec-7"`); n != 3 {
		t.Fatalf("%d log records with the correlation id:\n%s", n, logs.String())
	}
	mustPanic(t, "Instrument: name is empty", func() { p.Instrument("", step) })
}
