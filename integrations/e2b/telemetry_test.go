package e2b_test

import (
	"log/slog"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
)

func newRecorder() (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	rec := tracetest.NewSpanRecorder()
	return rec, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
}

func telemetryWith(tp *sdktrace.TracerProvider, l *slog.Logger) observability.Providers {
	return observability.Providers{TracerProvider: tp, Logger: l}
}

func TestSpansOfAnExecutionThroughThePrimitive(t *testing.T) {
	srv := newFake(t)
	rec, tp := newRecorder()
	tel := telemetryWith(tp, slog.New(slog.DiscardHandler))
	exec, err := e2b.NewCodeExecutionPrimitive(append(srv.PrimitiveOptions(), observability.WithProviders(tel))...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Execute(ctxTimeout(t, 30*time.Second), sandbox.CodeInput{Code: "print(2+2)"})
	if err != nil || out.Logs != "4\n" {
		t.Fatalf("%v %+v", err, out)
	}
	if err := exec.Close(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	// The user's execution is the e2b.execute span under code_run (the
	// provider also runs its own set-up and clean-up code).
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		if s.Name() != observability.SpanE2BExecute || byName[s.Name()] == nil {
			byName[s.Name()] = s
		}
	}
	for _, s := range rec.Ended() {
		if run := byName[observability.SpanCodeRun]; run != nil && s.Name() == observability.SpanE2BExecute &&
			s.Parent().SpanID() == run.SpanContext().SpanID() {
			byName[s.Name()] = s
		}
	}
	for _, name := range []string{observability.SpanCodeExecution, observability.SpanE2BCreate,
		observability.SpanE2BExecute, observability.SpanE2BContext, observability.SpanE2BKill} {
		if byName[name] == nil {
			t.Fatalf("no span %s among %v", name, keys(byName))
		}
	}
	execSpan := byName[observability.SpanE2BExecute]
	run := byName[observability.SpanCodeRun]
	if run == nil || execSpan.Parent().SpanID() != run.SpanContext().SpanID() {
		t.Fatalf("e2b.execute is not a child of %s", observability.SpanCodeRun)
	}
	attrs := map[string]string{}
	for _, a := range execSpan.Attributes() {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	if attrs[observability.AttrSandboxID] != out.SandboxID || attrs[observability.AttrE2BExecutionCount] != "1" ||
		attrs[observability.AttrE2BStreamLines] == "" || attrs[observability.AttrE2BContextID] == "" {
		t.Fatalf("attributes %v", attrs)
	}
	create := byName[observability.SpanE2BCreate]
	found := false
	for _, a := range create.Attributes() {
		if string(a.Key) == observability.AttrE2BTemplate && a.Value.AsString() == e2b.DefaultTemplate {
			found = true
		}
	}
	if !found {
		t.Fatalf("create span attributes %v", create.Attributes())
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
