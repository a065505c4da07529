package performance_test

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/performance"
)

// Regression tests of the seams between combinators (the full composition
// conformance matrix is in the root package's matrix_test.go).

// ptrQuery marshals itself through methods with pointer receivers, and
// keeps its text in an unexported field.
type ptrQuery struct{ q string }

func (p *ptrQuery) MarshalJSON() ([]byte, error) { return json.Marshal(p.q) }

type ptrText struct{ q string }

func (p *ptrText) MarshalText() ([]byte, error) { return []byte(p.q), nil }

type outer struct {
	Q ptrQuery
}

// The default key calls MarshalJSON / MarshalText even when they have
// pointer receivers: a cache never answers one input with another's
// output.
func TestDefaultKeyUsesPointerReceiverMarshalers(t *testing.T) {
	ctx := context.Background()
	q := performance.Cache(primitives.Lift(func(q ptrQuery) string { return q.q }))
	defer q.Close()
	if a, _ := q.Execute(ctx, ptrQuery{"a"}); a != "a" {
		t.Fatalf("got %q", a)
	}
	if b, _ := q.Execute(ctx, ptrQuery{"b"}); b != "b" {
		t.Fatalf("ptrQuery{b} answered with %q", b)
	}
	txt := performance.Cache(primitives.Lift(func(q ptrText) string { return q.q }))
	defer txt.Close()
	_, _ = txt.Execute(ctx, ptrText{"a"})
	if b, _ := txt.Execute(ctx, ptrText{"b"}); b != "b" {
		t.Fatalf("ptrText{b} answered with %q", b)
	}
	nested := performance.Cache(primitives.Lift(func(o outer) string { return o.Q.q }))
	defer nested.Close()
	_, _ = nested.Execute(ctx, outer{ptrQuery{"a"}})
	if b, _ := nested.Execute(ctx, outer{ptrQuery{"b"}}); b != "b" {
		t.Fatalf("outer{b} answered with %q", b)
	}
}

// Cache and Bulkhead do not start work for a caller whose context is
// already done; they return the context's cause.
func TestCacheAndBulkheadRefuseDoneContext(t *testing.T) {
	cause := errors.New("client went away")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	var calls atomic.Int32
	inner := primitives.Func[string, string](func(_ context.Context, s string) (string, error) {
		calls.Add(1)
		return s, nil
	})
	c := performance.Cache(inner)
	defer c.Close()
	b := performance.Bulkhead(inner, 1)
	for i := range 50 {
		if _, err := c.Execute(ctx, "x"); err != cause {
			t.Fatalf("cache call %d: err %v, want the cause", i, err)
		}
		if _, err := b.Execute(ctx, "x"); err != cause {
			t.Fatalf("bulkhead call %d: err %v, want the cause", i, err)
		}
	}
	time.Sleep(20 * time.Millisecond) // work started in the background shows by now
	if n := calls.Load(); n != 0 {
		t.Fatalf("inner ran %d times for callers whose context was done", n)
	}
}

// With CacheErrors, a run that every caller abandoned is not cached as a
// failure: the next caller runs the work again.
func TestCacheDoesNotCacheAbandonedRun(t *testing.T) {
	var calls atomic.Int32
	inner := primitives.Func[string, string](func(ctx context.Context, s string) (string, error) {
		if calls.Add(1) == 1 {
			<-ctx.Done()
			return "", context.Cause(ctx) // not context.Canceled: the cache's own cause
		}
		return s, nil
	})
	c := performance.Cache(inner, performance.CacheErrors(time.Hour))
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := c.Execute(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first call: %v", err)
	}
	// Let the abandoned run finish (and store, if it wrongly does).
	time.Sleep(50 * time.Millisecond)
	out, err := c.Execute(context.Background(), "k")
	if err != nil || out != "k" || calls.Load() != 2 {
		t.Fatalf("next caller got %q, %v after %d runs: the abandoned run's error was cached", out, err, calls.Load())
	}
}

// A cache that is dropped without Close is garbage-collected, and its
// metrics callback goes with it: metrics do not keep their owner alive.
func TestUnclosedCacheIsCollected(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	var collected atomic.Int32
	for range 20 {
		c := performance.Cache(primitives.Lift(func(s string) string { return s }),
			observability.WithMeterProvider(mp), performance.Name("per-request"))
		_, _ = c.Execute(context.Background(), "x")
		runtime.AddCleanup(c, func(*atomic.Int32) { collected.Add(1) }, &collected)
	}
	deadline := time.Now().Add(5 * time.Second)
	for collected.Load() < 20 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := collected.Load(); n < 20 {
		t.Fatalf("%d of 20 unclosed caches were collected", n)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == observability.MetricCacheHits {
				if sum, ok := m.Data.(metricdata.Sum[int64]); ok && len(sum.DataPoints) > 0 {
					t.Fatalf("collected caches still report %d data points", len(sum.DataPoints))
				}
			}
		}
	}
}
