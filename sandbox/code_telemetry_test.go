package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/sandboxtest"
)

func workflowCtx(id string) context.Context {
	return primitives.WithWorkflow(context.Background(), primitives.NewWorkflowContext(primitives.CorrelationID(id)))
}

func attrsOf(kvs []attribute.KeyValue) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

func TestCodeExecutionSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prov := sandboxtest.New(script(nil))
	ce := newExec(t, prov, observability.WithProviders(observability.Providers{TracerProvider: tp}), quiet, sandbox.MaxSandboxes(1))
	ctx := workflowCtx("exec-123")

	code := "print:120"
	if _, err := ce.Execute(ctx, sandbox.CodeInput{Code: code}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "sandbox back", func() bool { return ce.Pool().Stats().Idle == 1 })
	if _, err := ce.Execute(ctx, sandbox.CodeInput{Code: "raise:ValueError:bad"}); err != nil {
		t.Fatal(err)
	}

	spans := rec.Ended()
	var names []string
	for _, s := range spans {
		names = append(names, s.Name())
	}
	want := []string{
		observability.SpanCodeSandboxInit, observability.SpanCodeRun, observability.SpanCodeExecution,
		observability.SpanCodeRun, observability.SpanCodeExecution,
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("spans %v, want %v", names, want)
	}
	first, second := spans[2], spans[4]
	for _, child := range spans[:2] {
		if child.Parent().SpanID() != first.SpanContext().SpanID() {
			t.Fatalf("%s is not a child of the first %s", child.Name(), first.Name())
		}
	}
	if spans[3].Parent().SpanID() != second.SpanContext().SpanID() {
		t.Fatal("second code_run is not a child of the second execute span")
	}
	a := attrsOf(first.Attributes())
	if a[observability.AttrCorrelationID].AsString() != "exec-123" ||
		a[observability.AttrCodeLength].AsInt64() != int64(len(code)) ||
		!a[observability.AttrSuccess].AsBool() ||
		a[observability.AttrSandboxID].AsString() != "test-1" ||
		a[observability.AttrSandboxProvider].AsString() != "test" ||
		a[observability.AttrPrimitive].AsString() != sandbox.PrimitiveName {
		t.Fatalf("execute span attributes %v", first.Attributes())
	}
	initAttrs := attrsOf(spans[0].Attributes())
	if initAttrs[observability.AttrSandboxID].AsString() != "test-1" || initAttrs[observability.AttrCorrelationID].AsString() != "exec-123" {
		t.Fatalf("sandbox_init attributes %v", spans[0].Attributes())
	}
	if run := attrsOf(spans[1].Attributes()); !run[observability.AttrSandboxCreated].AsBool() || run[observability.AttrSandboxID].AsString() != "test-1" {
		t.Fatalf("code_run attributes %v", spans[1].Attributes())
	}
	b := attrsOf(second.Attributes())
	if b[observability.AttrSuccess].AsBool() || b[observability.AttrErrorType].AsString() != observability.ErrorTypeUserCode ||
		b[observability.AttrErrorName].AsString() != "ValueError" {
		t.Fatalf("failed execute span attributes %v", second.Attributes())
	}
}

func TestCodeExecutionInfrastructureErrorRecordedOnSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prov := sandboxtest.New(script(nil))
	ce := newExec(t, prov, observability.WithProviders(observability.Providers{TracerProvider: tp}), quiet)
	if _, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: "block", Timeout: 10 * time.Millisecond}); err == nil {
		t.Fatal("want a timeout")
	}
	spans := rec.Ended()
	exec := spans[len(spans)-1]
	if exec.Name() != observability.SpanCodeExecution || exec.Status().Code.String() != "Error" {
		t.Fatalf("last span %s status %v", exec.Name(), exec.Status())
	}
	if attrsOf(exec.Attributes())[observability.AttrErrorType].AsString() != observability.ErrorTypeTimeout {
		t.Fatalf("attributes %v", exec.Attributes())
	}
}

func TestCodeExecutionMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	prov := sandboxtest.New(script(nil))
	ce := newExec(t, prov, observability.WithProviders(observability.Providers{MeterProvider: mp}), quiet)
	ctx := context.Background()
	for _, in := range []sandbox.CodeInput{
		{Code: "print:a"},
		{Code: "print:b"},
		{Code: "raise:E:x"},
		{Code: ""},
		{Code: "block", Timeout: 5 * time.Millisecond},
	} {
		_, _ = ce.Execute(ctx, in)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	var histCount uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					key := m.Name
					if v, ok := p.Attributes.Value(observability.AttrErrorType); ok {
						key += "/" + v.AsString()
					}
					if v, _ := p.Attributes.Value(observability.AttrSandboxProvider); v.AsString() != "test" {
						t.Errorf("%s without the provider attribute", m.Name)
					}
					sums[key] += p.Value
				}
			case metricdata.Histogram[float64]:
				if m.Name != observability.MetricCodeDuration || m.Unit != "s" {
					t.Errorf("histogram %s (%s)", m.Name, m.Unit)
				}
				for _, p := range d.DataPoints {
					histCount += p.Count
				}
			}
		}
	}
	want := map[string]int64{
		observability.MetricCodeRequests:                                           5,
		observability.MetricCodeSuccess:                                            2,
		observability.MetricCodeErrors + "/" + observability.ErrorTypeUserCode:     1,
		observability.MetricCodeErrors + "/" + observability.ErrorTypeInvalidInput: 1,
		observability.MetricCodeErrors + "/" + observability.ErrorTypeTimeout:      1,
	}
	for k, v := range want {
		if sums[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, sums[k], v, sums)
		}
	}
	if histCount != 5 {
		t.Errorf("duration histogram has %d observations, want 5", histCount)
	}
}

// TestCodeExecutionPrometheusScrape checks the metric names as a real
// scrape through the OpenTelemetry Prometheus exporter shows them.
func TestCodeExecutionPrometheusScrape(t *testing.T) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	prov := sandboxtest.New(script(nil))
	ce := newExec(t, prov, observability.WithProviders(observability.Providers{MeterProvider: mp}), quiet)
	ctx := context.Background()
	_, _ = ce.Execute(ctx, sandbox.CodeInput{Code: "print:a"})
	_, _ = ce.Execute(ctx, sandbox.CodeInput{Code: "raise:E:x"})

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	types := map[string]string{}
	var samples []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" && strings.HasPrefix(f[2], "code_execution") {
			types[f[2]] = f[3]
		} else if strings.HasPrefix(line, "code_execution") {
			samples = append(samples, line)
		}
	}
	want := map[string]string{
		"code_execution_requests_total":   "counter",
		"code_execution_success_total":    "counter",
		"code_execution_error_total":      "counter",
		"code_execution_duration_seconds": "histogram",
	}
	if len(types) != len(want) {
		t.Fatalf("scrape shows %v, want exactly %v", types, want)
	}
	for name, typ := range want {
		if types[name] != typ {
			t.Errorf("scrape: %s has type %q, want %q (all: %v)", name, types[name], typ, types)
		}
	}
	joined := strings.Join(samples, "\n")
	for _, s := range []string{
		`code_execution_requests_total{`,
		`code_execution_error_total{error_type="user_code"`,
		`code_execution_duration_seconds_count{`,
	} {
		if !strings.Contains(joined, s) {
			t.Errorf("scrape lacks %s in:\n%s", s, joined)
		}
	}
}

func TestCodeExecutionLogRecord(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	prov := sandboxtest.New(script(nil))
	ce := newExec(t, prov, observability.WithLogger(logger), sandbox.LogExecutions(slog.LevelInfo))
	code := "print:hello"
	if _, err := ce.Execute(workflowCtx("exec-123"), sandbox.CodeInput{Code: code}); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == "code execution" {
			rec = r
		}
	}
	if rec == nil {
		t.Fatalf("no execution record in %s", buf.String())
	}
	if rec["level"] != "INFO" || rec["primitive"] != "CodeExecutionPrimitive" || rec["correlation_id"] != "exec-123" ||
		rec["success"] != true || rec["code_length"] != float64(len(code)) || rec["sandbox.id"] != "test-1" {
		t.Fatalf("record %v", rec)
	}
	if ms, ok := rec["execution_time_ms"].(float64); !ok || ms <= 0 {
		t.Fatalf("execution_time_ms = %v", rec["execution_time_ms"])
	}

	buf.Reset()
	_, _ = ce.Execute(workflowCtx("exec-456"), sandbox.CodeInput{Code: "block", Timeout: 5 * time.Millisecond})
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &rec); err != nil {
		t.Fatalf("%q: %v", buf.String(), err)
	}
	if rec["level"] != "INFO" || rec["success"] != false || rec["error.type"] != "timeout" || rec["correlation_id"] != "exec-456" {
		t.Fatalf("failure record %v", rec)
	}
}
