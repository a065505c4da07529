package mcpserver

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ttadev/primitives/observability"
)

func TestEveryToolCallIsASpanAndCounted(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	srv := newServer(t, observability.WithTracerProvider(tp), observability.WithMeterProvider(mp))
	cs := connect(t, srv, nil)

	run(t, cs, "1 + 1")
	call(t, cs, ToolWriteFile, map[string]any{"path": "f", "content": "x"})
	expectToolError(t, cs, ToolRunCode, map[string]any{"code": ""})

	// Spans: one mcp.tool_call per call, each the parent of the cell's
	// code_execution.execute span (through the timeout and retry spans).
	spans := rec.Ended()
	byID := map[[8]byte]sdktrace.ReadOnlySpan{}
	var calls []sdktrace.ReadOnlySpan
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
		if s.Name() == observability.SpanMCPToolCall {
			calls = append(calls, s)
		}
	}
	if len(calls) != 3 {
		t.Fatalf("%d tool-call spans, want 3", len(calls))
	}
	var executes int
	for _, s := range spans {
		if s.Name() != observability.SpanCodeExecution {
			continue
		}
		executes++
		p, ok := byID[s.Parent().SpanID()]
		for ok && p.Name() != observability.SpanMCPToolCall {
			p, ok = byID[p.Parent().SpanID()]
		}
		if !ok {
			t.Fatalf("code_execution.execute span has no mcp.tool_call ancestor")
		}
	}
	if executes != 2 {
		t.Fatalf("%d code_execution.execute spans, want 2 (the empty cell never reaches the primitive)", executes)
	}
	outcomes := map[string]int{}
	for _, s := range calls {
		for _, a := range s.Attributes() {
			if a.Key == observability.AttrMCPOutcome {
				outcomes[a.Value.AsString()]++
			}
		}
	}
	if outcomes[observability.MCPOutcomeOK] != 2 || outcomes[observability.MCPOutcomeToolError] != 1 {
		t.Fatalf("outcomes %v", outcomes)
	}

	// Metrics: the tool calls, and the seed's code-execution counters.
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range s.DataPoints {
					key := m.Name
					if v, ok := dp.Attributes.Value(attribute.Key(observability.AttrMCPOutcome)); ok {
						key += "/" + v.AsString()
					}
					sums[key] += dp.Value
				}
			}
		}
	}
	want := map[string]int64{
		observability.MetricMCPToolCalls + "/ok":         2,
		observability.MetricMCPToolCalls + "/tool_error": 1,
		observability.MetricCodeRequests:                 2,
		observability.MetricCodeSuccess:                  2,
		observability.MetricMCPSessions:                  1,
	}
	for k, v := range want {
		if sums[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, sums[k], v, sums)
		}
	}
}
