package agent_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/observability"
)

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// A run is an invoke_agent span; each turn a child; each tool call an
// execute_tool span under its turn, with error.type when it failed.
func TestSpans(t *testing.T) {
	rec := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	var logs bytes.Buffer
	tel := []agent.Option{observability.WithTracerProvider(tp), observability.WithMeterProvider(mp),
		observability.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}
	var ran atomic.Int32
	model := newScript(t,
		replies(toolUse("", call("w1", "weather", weatherIn{City: "Porto"}), call("w2", "weather", weatherIn{City: "Atlantis"}))),
		replies(answer("done")))
	a, err := agent.New(model, append(tel, agent.Name("forecaster"), agent.Model("m-1"), agent.Tools(weatherTool(&ran)))...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := primitives.WithWorkflow(ctxT(t), primitives.NewWorkflowContext(primitives.CorrelationID("corr-9")))
	if _, err := a.Execute(ctx, agent.Task("go")); err != nil {
		t.Fatal(err)
	}
	spans := rec.GetSpans().Snapshots()
	byName := map[string]sdktrace.ReadOnlySpan{}
	var tools []sdktrace.ReadOnlySpan
	for _, s := range spans {
		byName[s.Name()] = s
		if strings.HasPrefix(s.Name(), "execute_tool ") {
			tools = append(tools, s)
		}
	}
	run, t1, t2 := byName["invoke_agent forecaster"], byName["agent.turn_1"], byName["agent.turn_2"]
	if run == nil || t1 == nil || t2 == nil || len(tools) != 2 {
		t.Fatalf("spans %v", spanNames(spans))
	}
	ra := attrs(run)
	if ra[observability.AttrGenAIOperationName].AsString() != "invoke_agent" || ra[observability.AttrGenAIAgentName].AsString() != "forecaster" ||
		ra[observability.AttrGenAIRequestModel].AsString() != "m-1" || ra[observability.AttrAgentTurns].AsInt64() != 2 ||
		ra[observability.AttrAgentToolCalls].AsInt64() != 2 || ra[observability.AttrGenAIUsageInputTokens].AsInt64() != 200 ||
		ra[observability.AttrAgentStop].AsString() != "end_turn" || ra[observability.AttrCorrelationID].AsString() != "corr-9" ||
		run.SpanKind() != trace.SpanKindInternal || run.Status().Code != otelcodes.Ok {
		t.Fatalf("run span %v %v", ra, run.Status())
	}
	for _, turn := range []sdktrace.ReadOnlySpan{t1, t2} {
		if turn.Parent().SpanID() != run.SpanContext().SpanID() {
			t.Fatalf("%s is not a child of the run", turn.Name())
		}
	}
	if attrs(t1)[observability.AttrAgentToolCalls].AsInt64() != 2 || attrs(t2)[observability.AttrAgentTurn].AsInt64() != 2 {
		t.Fatalf("turn attributes %v %v", attrs(t1), attrs(t2))
	}
	for _, s := range tools {
		sa := attrs(s)
		if s.Name() != "execute_tool weather" || s.Parent().SpanID() != t1.SpanContext().SpanID() ||
			sa[observability.AttrGenAIOperationName].AsString() != "execute_tool" || sa[observability.AttrGenAIToolName].AsString() != "weather" ||
			sa[observability.AttrGenAIToolType].AsString() != "function" {
			t.Fatalf("tool span %s %v", s.Name(), sa)
		}
		switch sa[observability.AttrGenAIToolCallID].AsString() {
		case "w1":
			if s.Status().Code != otelcodes.Ok || sa[observability.AttrErrorType].AsString() != "" {
				t.Errorf("w1 %v %v", s.Status(), sa)
			}
		case "w2":
			if s.Status().Code != otelcodes.Error || sa[observability.AttrErrorType].AsString() != observability.ErrorTypeToolError {
				t.Errorf("w2 %v %v", s.Status(), sa)
			}
		default:
			t.Errorf("call id %v", sa[observability.AttrGenAIToolCallID])
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					et, _ := dp.Attributes.Value(observability.AttrErrorType)
					oc, _ := dp.Attributes.Value(observability.AttrAgentOutcome)
					got[m.Name+"/"+et.AsString()+oc.AsString()] += dp.Value
				}
			}
		}
	}
	if got["agent_runs_total/answered"] != 1 || got["agent_tool_calls_total/"] != 1 || got["agent_tool_calls_total/tool_error"] != 1 {
		t.Fatalf("metrics %v", got)
	}
	if !strings.Contains(logs.String(), "msg=\"agent run\"") || !strings.Contains(logs.String(), "agent.turns=2") ||
		!strings.Contains(logs.String(), "correlation_id=corr-9") {
		t.Fatalf("log: %s", logs.String())
	}
}

// The model's own span ("chat <model>", made by the provider from the
// context) nests under the turn's. The provider is the real OpenAI
// provider talking to a loopback server.
func TestModelSpanUnderTurn(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m-2",` +
			`"choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],` +
			`"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`))
	}))
	defer srv.Close()
	rec := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(rec))
	tel := observability.WithTracerProvider(tp)
	model, err := llm.NewOpenAI(llm.WithBaseURL(srv.URL), llm.WithAPIKey("sk-test"), llm.WithModel("m-2"), tel)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(model, tel, quiet)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Execute(ctxT(t), agent.Task("hi"))
	if err != nil || res.Text != "hello" || res.Usage.Total() != 4 {
		t.Fatalf("%+v, %v", res, err)
	}
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.GetSpans().Snapshots() {
		byName[s.Name()] = s
	}
	chat, turn := byName["chat m-2"], byName["agent.turn_1"]
	if chat == nil || turn == nil || chat.Parent().SpanID() != turn.SpanContext().SpanID() {
		t.Fatalf("spans %v; want chat m-2 under agent.turn_1", byName)
	}
}

// No logger given: nothing is logged, even with a default logger that
// logs everything.
func TestQuietWithoutLogger(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(old)
	a, err := agent.New(newScript(t, replies(answer("x"))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Execute(ctxT(t), agent.Task("go")); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Fatalf("logged without a logger: %s", buf.String())
	}
}

func spanNames(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}
