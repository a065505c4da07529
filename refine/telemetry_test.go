package refine_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/refine"
	"github.com/ttadev/primitives/sandbox"
)

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// One span per attempt under one span for the loop; the executor's spans
// nest under the attempt's; the correlation id is on every span.
func TestSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tel := observability.WithTracerProvider(tp)
	exec := python(t, tel)
	gen := codes("print(undefined)", "print('fine')")
	gen.replies[0].Usage = refine.Usage{InputTokens: 10, OutputTokens: 5}
	gen.replies[1].Usage = refine.Usage{InputTokens: 20, OutputTokens: 7}
	ctx := primitives.WithWorkflow(ctxT(t), primitives.NewWorkflowContext(primitives.CorrelationID("corr-7")))
	if _, err := refine.New(gen, exec, tel, quiet).Execute(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = s
		if attrs(s)[observability.AttrCorrelationID].AsString() != "corr-7" {
			t.Errorf("span %s lacks the correlation id", s.Name())
		}
	}
	loop, a1, a2 := byName["refinement"], byName["refinement.iteration_1"], byName["refinement.iteration_2"]
	if loop == nil || a1 == nil || a2 == nil {
		t.Fatalf("spans %v", names(spans))
	}
	la := attrs(loop)
	if la[observability.AttrRefinementIterations].AsInt64() != 2 || la[observability.AttrRefinementTokens].AsInt64() != 42 ||
		!la[observability.AttrSuccess].AsBool() || la[observability.AttrRefinementMaxAttempts].AsInt64() != 3 || loop.Status().Code != otelcodes.Ok {
		t.Fatalf("loop span %v %v", la, loop.Status())
	}
	for _, a := range []sdktrace.ReadOnlySpan{a1, a2} {
		if a.Parent().SpanID() != loop.SpanContext().SpanID() {
			t.Fatalf("%s is not a child of the loop span", a.Name())
		}
	}
	if aa := attrs(a1); aa[observability.AttrSuccess].AsBool() || aa[observability.AttrErrorName].AsString() != "NameError" || aa[observability.AttrRefinementTokens].AsInt64() != 15 {
		t.Fatalf("attempt 1 %v", aa)
	}
	if aa := attrs(a2); !aa[observability.AttrSuccess].AsBool() || aa[observability.AttrRefinementAttempt].AsInt64() != 2 {
		t.Fatalf("attempt 2 %v", aa)
	}
	var execUnderAttempt int
	for _, s := range spans {
		if s.Name() == observability.SpanCodeExecution {
			if p := s.Parent().SpanID(); p == a1.SpanContext().SpanID() || p == a2.SpanContext().SpanID() {
				execUnderAttempt++
			}
		}
	}
	if execUnderAttempt != 2 {
		t.Fatalf("%d code_execution.execute spans under attempt spans; want 2: %v", execUnderAttempt, names(spans))
	}
}

func TestExhaustedSpanAndLog(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	var logs bytes.Buffer
	loop := refine.New(codes("1/0"), python(t), refine.MaxAttempts(2),
		observability.WithTracerProvider(tp), observability.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if _, err := loop.Execute(ctxT(t), "x"); err == nil {
		t.Fatal("no error")
	}
	var loopSpan sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "refinement" {
			loopSpan = s
		}
	}
	if loopSpan == nil || loopSpan.Status().Code != otelcodes.Error || attrs(loopSpan)[observability.AttrRefinementStop].AsString() != "max_attempts" {
		t.Fatalf("loop span %+v", loopSpan)
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN msg=refinement success=false refinement.iterations=2") || !strings.Contains(l, "refinement.stop=max_attempts") {
		t.Fatalf("log %q", l)
	}
}

// A panic in the generator propagates unchanged; the open spans are ended.
func TestPanicPropagates(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	boom := primitives.Func[refine.Request, refine.Generation](func(context.Context, refine.Request) (refine.Generation, error) {
		panic("generator bug")
	})
	exec := primitives.Func[sandbox.CodeInput, sandbox.CodeOutput](func(context.Context, sandbox.CodeInput) (sandbox.CodeOutput, error) {
		t.Error("executor called")
		return sandbox.CodeOutput{}, nil
	})
	func() {
		defer func() {
			if r := recover(); r != "generator bug" {
				t.Fatalf("recovered %v", r)
			}
		}()
		refine.New(boom, exec, observability.WithTracerProvider(tp), quiet).Execute(context.Background(), "x")
		t.Fatal("no panic")
	}()
	ended := rec.Ended()
	if len(ended) != 2 || len(rec.Started()) != 2 {
		t.Fatalf("started %d, ended %v", len(rec.Started()), names(ended))
	}
	for _, s := range ended {
		if s.Status().Code != otelcodes.Error {
			t.Fatalf("%s: status %v", s.Name(), s.Status())
		}
	}
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var n []string
	for _, s := range spans {
		n = append(n, s.Name())
	}
	return n
}

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	tel := observability.WithMeterProvider(mp)
	exec := python(t)
	ctx := ctxT(t)
	if _, err := refine.New(codes("1/0", "print(1)"), exec, tel, quiet).Execute(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := refine.New(codes("1/0"), exec, refine.MaxAttempts(2), tel, quiet).Execute(ctx, "x"); err == nil {
		t.Fatal("no error")
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := refine.New(codes("print(1)"), exec, tel, quiet).Execute(done, "x"); err == nil {
		t.Fatal("no error")
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	runs, attempts := map[string]int64{}, map[string][2]int64{} // outcome -> count; outcome -> {observations, sum}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				if m.Name == observability.MetricRefinementRuns {
					for _, dp := range data.DataPoints {
						o, _ := dp.Attributes.Value(observability.AttrRefinementOutcome)
						runs[o.AsString()] += dp.Value
					}
				}
			case metricdata.Histogram[int64]:
				if m.Name == observability.MetricRefinementAttempts {
					for _, dp := range data.DataPoints {
						o, _ := dp.Attributes.Value(observability.AttrRefinementOutcome)
						attempts[o.AsString()] = [2]int64{int64(dp.Count), dp.Sum}
					}
				}
			}
		}
	}
	if fmt.Sprint(runs) != "map[error:1 max_attempts:1 success:1]" {
		t.Fatalf("runs %v", runs)
	}
	if fmt.Sprint(attempts) != "map[error:[1 0] max_attempts:[1 2] success:[1 2]]" {
		t.Fatalf("attempts %v", attempts)
	}
}
