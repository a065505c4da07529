package performance_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"golang.org/x/time/rate"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/performance"
)

func newTracer(t *testing.T) (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return rec, tp
}

func newMeter(t *testing.T) (*sdkmetric.ManualReader, *sdkmetric.MeterProvider) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return reader, mp
}

// sums collects every int64 sum and gauge point by metric name and the
// value of attribute attr.
func sums(t *testing.T, reader *sdkmetric.ManualReader, attr string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != observability.ScopeName {
			t.Fatalf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			var points []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				points = d.DataPoints
			case metricdata.Gauge[int64]:
				points = d.DataPoints
			}
			for _, p := range points {
				v, _ := p.Attributes.Value(attributeKey(attr))
				out[m.Name+"{"+v.AsString()+"}"] += p.Value
			}
		}
	}
	return out
}

func TestCacheSpansAndMetrics(t *testing.T) {
	rec, tp := newTracer(t)
	reader, mp := newMeter(t)
	c := performance.Cache(upper(), performance.Name("code"), performance.MaxEntries(1),
		observability.WithTracerProvider(tp), observability.WithMeterProvider(mp))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	for _, s := range []string{"secret-code", "secret-code", "other"} {
		if _, err := c.Execute(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	parent.End()

	spans := rec.Ended()
	var cacheSpans []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == observability.SpanCache {
			cacheSpans = append(cacheSpans, s)
		}
	}
	if len(cacheSpans) != 3 {
		t.Fatalf("%d cache spans", len(cacheSpans))
	}
	wantEvents := []string{observability.EventCacheMiss, observability.EventCacheHit, observability.EventCacheMiss}
	for i, s := range cacheSpans {
		if s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Fatalf("span %d is not a child of the caller's span", i)
		}
		if len(s.Events()) != 1 || s.Events()[0].Name != wantEvents[i] {
			t.Fatalf("span %d events %v, want %s", i, s.Events(), wantEvents[i])
		}
		attrs := map[string]string{}
		for _, a := range s.Attributes() {
			attrs[string(a.Key)] = a.Value.Emit()
			if strings.Contains(a.Value.Emit(), "secret") {
				t.Fatalf("span %d leaks the key in %s", i, a.Key)
			}
		}
		if attrs[observability.AttrCacheName] != "code" || attrs[observability.AttrCacheKeyHashed] == "" {
			t.Fatalf("span %d attributes %v", i, attrs)
		}
		if want := map[bool]string{true: "true", false: "false"}[i == 1]; attrs[observability.AttrCacheHit] != want {
			t.Fatalf("span %d cache.hit=%s", i, attrs[observability.AttrCacheHit])
		}
	}

	got := sums(t, reader, observability.AttrCacheName)
	want := map[string]int64{
		observability.MetricCacheHits + "{code}":        1,
		observability.MetricCacheMisses + "{code}":      2,
		observability.MetricCacheLoads + "{code}":       2,
		observability.MetricCacheEvictions + "{code}":   1,
		observability.MetricCacheExpirations + "{code}": 0,
		observability.MetricCacheCoalesced + "{code}":   0,
		observability.MetricCacheStoreErrors + "{code}": 0,
		observability.MetricCacheSize + "{code}":        1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	// Close unregisters the callback: the cache is no longer reported.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if after := sums(t, reader, observability.AttrCacheName); after[observability.MetricCacheHits+"{code}"] != 0 {
		t.Fatalf("metrics still reported after Close: %v", after)
	}
}

func TestLimitSpansAndMetrics(t *testing.T) {
	rec, tp := newTracer(t)
	reader, mp := newMeter(t)
	block := make(chan struct{})
	started := make(chan struct{})
	slow := primitives.Func[int, int](func(_ context.Context, n int) (int, error) {
		if n == 0 {
			close(started)
			<-block
		}
		return n, nil
	})
	b := performance.Bulkhead(slow, 1, performance.Name("db"),
		observability.WithTracerProvider(tp), observability.WithMeterProvider(mp))
	done := make(chan error)
	go func() { _, err := b.Execute(context.Background(), 0); done <- err }()
	<-started
	if _, err := b.Execute(context.Background(), 1); !errors.Is(err, performance.ErrBulkheadFull) {
		t.Fatalf("got %v", err)
	}
	close(block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	r := performance.RateLimit(primitives.Lift(func(n int) int { return n }), rate.Every(time.Hour), 1,
		performance.Name("api"), observability.WithTracerProvider(tp), observability.WithMeterProvider(mp))
	_, _ = r.Execute(context.Background(), 1)
	if _, err := r.Execute(context.Background(), 2); !errors.Is(err, performance.ErrRateLimited) {
		t.Fatalf("got %v", err)
	}

	names := map[string]int{}
	for _, s := range rec.Ended() {
		names[s.Name()]++
		if s.Name() == observability.SpanBulkhead || s.Name() == observability.SpanRateLimit {
			var name string
			for _, a := range s.Attributes() {
				if a.Key == observability.AttrLimitName {
					name = a.Value.AsString()
				}
			}
			if name != "db" && name != "api" {
				t.Fatalf("span %s without limit.name: %v", s.Name(), s.Attributes())
			}
		}
	}
	if names[observability.SpanBulkhead] != 2 || names[observability.SpanRateLimit] != 2 {
		t.Fatalf("spans %v", names)
	}
	got := sums(t, reader, observability.AttrLimitName)
	if got[observability.MetricBulkheadRejected+"{db}"] != 1 || got[observability.MetricRateLimitRejected+"{api}"] != 1 {
		t.Fatalf("metrics %v", got)
	}
}
