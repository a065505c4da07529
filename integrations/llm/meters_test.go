package llm

import (
	"context"
	"runtime"
	"testing"
	"weak"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ttadev/primitives/observability"
)

// heldMeter is an SDK meter behind a pointer of the test's own, so a weak
// pointer can tell when nothing holds it any more.
type heldMeter struct{ metric.Meter }

// heldMeterProvider hands out one heldMeter.
type heldMeterProvider struct {
	metric.MeterProvider
	m *heldMeter
}

func (p *heldMeterProvider) Meter(string, ...metric.MeterOption) metric.Meter { return p.m }

// TestMeterCollectableAfterProvider checks that the instruments a provider
// builds for a meter do not keep that meter alive once the provider is
// gone: nothing process-wide holds it.
func TestMeterCollectableAfterProvider(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAICompletionBody})
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })

	held := func() weak.Pointer[heldMeter] {
		m := &heldMeter{Meter: mp.Meter(observability.ScopeName)}
		p := newTestOpenAI(t, srv.URL, observability.WithMeterProvider(&heldMeterProvider{MeterProvider: mp, m: m}))
		for range 2 {
			if _, err := p.Execute(context.Background(), userRequest("x")); err != nil {
				t.Fatal(err)
			}
		}
		return weak.Make(m)
	}()
	// The calls were recorded through that meter.
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	calls := uint64(0)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == observability.MetricGenAIClientOperationDuration {
				for _, dp := range h.DataPoints {
					calls += dp.Count
				}
			}
		}
	}
	if calls != 2 {
		t.Fatalf("%s counted %d calls, want 2", observability.MetricGenAIClientOperationDuration, calls)
	}
	for range 10 {
		runtime.GC()
		if held.Value() == nil {
			return
		}
	}
	t.Fatal("the meter is still reachable after its provider is gone")
}

// TestMeterInstrumentsReused checks that a provider builds its
// instruments once for a meter and again for a new one (a global meter
// provider installed after the provider was built).
func TestMeterInstrumentsReused(t *testing.T) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	var c meterCache
	m1 := mp.Meter("a")
	first := c.instruments(m1)
	if c.instruments(m1) != first {
		t.Fatal("instruments built again for the same meter")
	}
	if c.instruments(mp.Meter("b")) == first {
		t.Fatal("a new meter got the old meter's instruments")
	}
}
