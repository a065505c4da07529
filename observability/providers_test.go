package observability_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/ttadev/primitives/observability"
)

type corr struct{ id, wf string }

func (c corr) CorrelationID() string { return c.id }
func (c corr) WorkflowID() string    { return c.wf }

func TestTracingInstalled(t *testing.T) {
	if observability.TracingInstalled(otel.GetTracerProvider()) {
		t.Fatal("the un-set global provider counts as installed")
	}
	if observability.TracingInstalled(noop.NewTracerProvider()) {
		t.Fatal("a no-op provider counts as installed")
	}
	if _, ok := (observability.Providers{}).Tracer(); ok {
		t.Fatal("zero Providers traces with nothing installed")
	}
	ctx, span := (observability.Providers{}).StartSpan(context.Background(), "x")
	if span != nil || ctx != context.Background() {
		t.Fatal("StartSpan without a provider should be a no-op")
	}
	observability.End(span, nil) // must accept the nil span

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	if !observability.TracingInstalled(tp) {
		t.Fatal("SDK provider not detected")
	}

	// Installing a global provider after the fact is seen at once.
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	ctx = observability.ContextWithCorrelated(context.Background(), corr{"c-1", "w-1"})
	_, span = (observability.Providers{}).StartSpan(ctx, "late")
	observability.End(span, nil)
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].Name() != "late" {
		t.Fatalf("spans %v", spans)
	}
	found := 0
	for _, a := range spans[0].Attributes() {
		if (a.Key == observability.AttrCorrelationID && a.Value.AsString() == "c-1") ||
			(a.Key == observability.AttrWorkflowID && a.Value.AsString() == "w-1") {
			found++
		}
	}
	if found != 2 {
		t.Fatalf("correlation attributes missing: %v", spans[0].Attributes())
	}
}

func TestIndexedNames(t *testing.T) {
	cases := map[string]string{
		observability.StepSpan(0):                                  "sequential.step_0",
		observability.StepSpan(200):                                "sequential.step_200",
		observability.BranchSpan(3):                                "parallel.branch_3",
		observability.AttemptSpan(1):                               "retry.attempt_1",
		observability.Indexed(observability.SpanSagaStepPrefix, 2): "saga.step_2",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q want %q", got, want)
		}
	}
}
