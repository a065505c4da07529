package primitives_test

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	p "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

func TestSequentialRunsStepsInOrder(t *testing.T) {
	double := p.Lift(func(n int) int { return n * 2 })
	got, err := p.Sequential(add(1), double, add(3)).Execute(context.Background(), 1)
	if err != nil || got != 7 {
		t.Fatalf("got %d, %v; want 7", got, err)
	}
}

func TestSequentialErrorNamesTheStep(t *testing.T) {
	boom := errors.New("boom")
	fail := p.Func[int, int](func(context.Context, int) (int, error) { return 0, boom })
	later := 0
	tail := p.Func[int, int](func(_ context.Context, n int) (int, error) { later++; return n, nil })
	got, err := p.Sequential(add(1), fail, tail).Execute(context.Background(), 1)
	var se *p.StepError
	if !errors.As(err, &se) || se.Index != 1 || !errors.Is(err, boom) {
		t.Fatalf("err = %v; want *StepError{Index:1} wrapping boom", err)
	}
	if later != 0 || got != 0 {
		t.Fatalf("later steps ran (%d) or non-zero output %d", later, got)
	}
	if se.Error() != "sequential step 1: boom" {
		t.Fatalf("message %q", se.Error())
	}
}

func TestSequentialFlattensNestedChains(t *testing.T) {
	inner := p.Sequential(add(1), add(2))
	outer := p.Sequential(inner, add(3), p.Sequential(add(4)))
	if outer.Len() != 4 {
		t.Fatalf("Len = %d, want 4 after flattening", outer.Len())
	}
	// A configured chain keeps its own options, so it is not flattened.
	_, tp := newRecorder(t)
	configured := p.Sequential(add(1), add(2)).With(observability.WithTracerProvider(tp))
	if n := p.Sequential(configured, add(3)).Len(); n != 2 {
		t.Fatalf("configured chain flattened: Len = %d, want 2", n)
	}
	got, _ := outer.Execute(context.Background(), 0)
	if got != 10 {
		t.Fatalf("got %d, want 10", got)
	}
}

func TestSequentialHonoursCancellationBeforeEachStep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := 0
	step := p.Func[int, int](func(_ context.Context, n int) (int, error) { ran++; cancel(); return n, nil })
	_, err := p.Sequential(step, step, step).Execute(ctx, 0)
	if !errors.Is(err, context.Canceled) || ran != 1 {
		t.Fatalf("err %v ran %d; want Canceled after 1 step", err, ran)
	}
}

func TestSequentialSpans(t *testing.T) {
	rec, tp := newRecorder(t)
	tracer := tp.Tracer("test")
	boom := errors.New("boom")
	fail := p.Func[int, int](func(context.Context, int) (int, error) { return 0, boom })
	wf := p.NewWorkflowContext(p.CorrelationID("exec-123"), p.WorkflowID("wf"))
	ctx := p.WithWorkflow(context.Background(), wf)
	ctx, root := tracer.Start(ctx, "root")
	_, err := p.Sequential(add(1), fail).With(observability.WithTracerProvider(tp)).Execute(ctx, 0)
	root.End()
	if err == nil {
		t.Fatal("want an error")
	}
	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	step0, step1 := spans[0], spans[1]
	if step0.Name() != "sequential.step_0" || step1.Name() != "sequential.step_1" {
		t.Fatalf("names %q %q", step0.Name(), step1.Name())
	}
	if step0.Parent().SpanID() != root.SpanContext().SpanID() || step1.Parent().SpanID() != root.SpanContext().SpanID() {
		t.Fatal("step spans are not children of the caller's span")
	}
	if step0.Status().Code != codes.Ok || step1.Status().Code != codes.Error || step1.Status().Description != "boom" {
		t.Fatalf("statuses %v %v", step0.Status(), step1.Status())
	}
	wantAttr(t, step1.Attributes(), "correlation_id", "exec-123")
	wantAttr(t, step1.Attributes(), "workflow_id", "wf")
	if len(step1.Events()) == 0 || step1.Events()[0].Name != "exception" {
		t.Fatalf("failed step has no exception event: %v", step1.Events())
	}
}

func wantAttr(t *testing.T, attrs []attribute.KeyValue, key, want string) {
	t.Helper()
	for _, a := range attrs {
		if string(a.Key) == key {
			if a.Value.Emit() != want {
				t.Fatalf("attribute %s = %q, want %q", key, a.Value.Emit(), want)
			}
			return
		}
	}
	t.Fatalf("attribute %s missing from %v", key, attrs)
}
