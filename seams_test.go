package primitives_test

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	p "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

// Regression tests of the seams between combinators (the composition
// conformance matrix is in matrix_test.go).

// Two Routers in two Parallel branches each record their own decision:
// a child context shares nothing mutable with its siblings, even when the
// parent's routing history has spare capacity.
func TestRoutersInParallelBranchesKeepTheirOwnHistory(t *testing.T) {
	route := func(key string) p.Primitive[int, string] {
		r := p.Router(func(context.Context, int) (string, error) { return key, nil },
			map[string]p.Primitive[int, int]{"a": p.Identity[int](), "b": p.Identity[int](), "warm": p.Identity[int]()})
		last := p.Func[int, string](func(ctx context.Context, _ int) (string, error) {
			h, _ := p.WorkflowFrom(ctx).Get(p.RoutingHistoryKey)
			d := h.([]p.RouteDecision)
			return d[len(d)-1].Key, nil
		})
		return p.Then(r, last)
	}
	for range 50 {
		wf := p.NewWorkflowContext()
		ctx := p.WithWorkflow(context.Background(), wf)
		for range 3 { // len 3, cap 4: room for one more in the shared array
			if _, err := route("warm").Execute(ctx, 0); err != nil {
				t.Fatal(err)
			}
		}
		out, err := p.Parallel(route("a"), route("b")).Execute(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if out[0] != "a" || out[1] != "b" {
			t.Fatalf("branches saw decisions %v; each must see its own", out)
		}
		h, _ := wf.Get(p.RoutingHistoryKey)
		if n := len(h.([]p.RouteDecision)); n != 3 {
			t.Fatalf("parent history has %d decisions; branches must not write into it", n)
		}
	}
}

// A child context keeps the causation id of its parent: the run that
// caused the parent caused the child too.
func TestChildKeepsCausationID(t *testing.T) {
	parent := p.NewWorkflowContext(p.CorrelationID("run-2"), p.CausationID("run-1"))
	child := parent.Child()
	if child.CausationID() != "run-1" || child.CorrelationID() != "run-2" {
		t.Fatalf("child causation %q correlation %q; want run-1 and run-2", child.CausationID(), child.CorrelationID())
	}
	orphan := p.NewWorkflowContext(p.CorrelationID("run-3")).Child()
	if orphan.CausationID() != "" {
		t.Fatalf("child of a context without causation has causation %q", orphan.CausationID())
	}
}

// uncomparableMeterProvider hands out a meter whose dynamic type cannot be
// a map key.
type uncomparableMeterProvider struct{ noop.MeterProvider }

type uncomparableMeter struct {
	noop.Meter
	_ []int // makes the type non-comparable
}

func (uncomparableMeterProvider) Meter(string, ...metric.MeterOption) metric.Meter {
	return uncomparableMeter{}
}

// Instrument works with a meter whose type is not comparable (it used to
// panic storing it as a map key).
func TestInstrumentWithUncomparableMeter(t *testing.T) {
	inst := p.Instrument("double", p.Lift(func(n int) int { return 2 * n }),
		observability.WithMeterProvider(uncomparableMeterProvider{}))
	out, err := inst.Execute(context.Background(), 21)
	if err != nil || out != 42 {
		t.Fatalf("got %d, %v", out, err)
	}
}

// A panic recovered by Parallel is a *PanicError that no retry policy
// retries.
func TestParallelPanicIsNotRetryable(t *testing.T) {
	buggy := p.Func[int, int](func(context.Context, int) (int, error) { panic("bug") })
	_, err := p.Parallel(buggy).Execute(context.Background(), 0)
	var pe *p.PanicError
	if !errors.As(err, &pe) || pe.Value != "bug" {
		t.Fatalf("err %v; want a *PanicError", err)
	}
	var r interface{ Retryable() bool }
	if !errors.As(err, &r) || r.Retryable() {
		t.Fatal("a recovered panic must say it is not retryable")
	}
}
