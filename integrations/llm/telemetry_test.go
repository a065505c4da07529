package llm

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ttadev/primitives/observability"
)

type telemetrySink struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newSink(t *testing.T) *telemetrySink {
	s := &telemetrySink{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	s.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.spans))
	s.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.reader))
	t.Cleanup(func() { _ = s.tp.Shutdown(context.Background()); _ = s.mp.Shutdown(context.Background()) })
	return s
}

func (s *telemetrySink) option() observability.Option {
	return observability.WithProviders(observability.Providers{TracerProvider: s.tp, MeterProvider: s.mp})
}

func attrMap(kvs []attribute.KeyValue) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

func (s *telemetrySink) histograms(t *testing.T) map[string][]metricdata.HistogramDataPoint[float64] {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := s.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string][]metricdata.HistogramDataPoint[float64]{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				out[m.Name] = append(out[m.Name], d.DataPoints...)
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] = append(out[m.Name], metricdata.HistogramDataPoint[float64]{Attributes: p.Attributes, Count: p.Count, Sum: float64(p.Sum)})
				}
			}
		}
	}
	return out
}

func TestTelemetryOneSpanPerCallWithGenAIAttributes(t *testing.T) {
	sink := newSink(t)
	srv := newFakeServer(t, reply{body: anthropicMessageBody})
	p := newTestAnthropic(t, srv.URL, sink.option())
	ctx, parent := sink.tp.Tracer("test").Start(context.Background(), "workflow")
	req := Request{System: "secret system prompt", Messages: []Message{{Role: RoleUser, Content: "secret user prompt"}}}
	if _, err := p.Execute(ctx, req); err != nil {
		t.Fatal(err)
	}
	parent.End()
	spans := sink.spans.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the call's and the parent's", len(spans))
	}
	s := spans[0]
	if s.Name() != "chat claude-sonnet-4-5" || s.SpanKind() != trace.SpanKindClient {
		t.Fatalf("span %q kind %v, want CLIENT \"chat claude-sonnet-4-5\"", s.Name(), s.SpanKind())
	}
	if s.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatal("the call's span is not a child of the caller's span")
	}
	a := attrMap(s.Attributes())
	want := map[string]any{
		"gen_ai.operation.name":                    "chat",
		"gen_ai.provider.name":                     "anthropic",
		"gen_ai.request.model":                     "claude-sonnet-4-5",
		"gen_ai.response.model":                    "claude-sonnet-4-5-20250929",
		"gen_ai.response.id":                       "msg_01XFDUDYJgAACzvnptvVoYEL",
		"gen_ai.usage.input_tokens":                int64(12 + 5 + 3),
		"gen_ai.usage.output_tokens":               int64(6),
		"gen_ai.usage.cache_read.input_tokens":     int64(5),
		"gen_ai.usage.cache_creation.input_tokens": int64(3),
		"gen_ai.request.max_tokens":                int64(DefaultMaxTokens),
		"server.address":                           "127.0.0.1",
	}
	for k, v := range want {
		if got, ok := a[k]; !ok || got.AsInterface() != v {
			t.Errorf("%s = %v, want %v", k, a[k].AsInterface(), v)
		}
	}
	if fr := a["gen_ai.response.finish_reasons"].AsStringSlice(); len(fr) != 1 || fr[0] != "end_turn" {
		t.Errorf("finish_reasons = %v", fr)
	}
	for _, k := range []string{"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"} {
		if _, ok := a[k]; ok {
			t.Errorf("%s recorded without opting in", k)
		}
	}
	for _, kv := range s.Attributes() {
		if strings.Contains(kv.Value.Emit(), "secret") || strings.Contains(kv.Value.Emit(), "Hello") {
			t.Errorf("prompt or reply text on the span: %s", kv.Key)
		}
	}
	if s.Status().Code != codes.Ok {
		t.Errorf("status = %v", s.Status())
	}

	h := sink.histograms(t)
	tok := h["gen_ai.client.token.usage"]
	if len(tok) != 2 {
		t.Fatalf("token usage points = %d, want input and output", len(tok))
	}
	sums := map[string]float64{}
	for _, p := range tok {
		tt, _ := p.Attributes.Value("gen_ai.token.type")
		sums[tt.AsString()] = p.Sum
		if m, _ := p.Attributes.Value("gen_ai.provider.name"); m.AsString() != "anthropic" {
			t.Errorf("token point without provider: %v", p.Attributes)
		}
	}
	if sums["input"] != 20 || sums["output"] != 6 {
		t.Errorf("token sums = %v", sums)
	}
	if d := h["gen_ai.client.operation.duration"]; len(d) != 1 || d[0].Count != 1 {
		t.Fatalf("duration points = %+v", d)
	}
}

func TestTelemetryFailedCall(t *testing.T) {
	sink := newSink(t)
	srv := newFakeServer(t, reply{status: 429, body: `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`})
	p := newTestOpenAI(t, srv.URL, sink.option())
	if _, err := p.Execute(context.Background(), userRequest("x")); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	spans := sink.spans.Ended()
	if len(spans) != 1 || spans[0].Name() != "chat gpt-4.1" {
		t.Fatalf("spans = %d", len(spans))
	}
	if spans[0].Status().Code != codes.Error {
		t.Fatalf("status = %v", spans[0].Status())
	}
	if et := attrMap(spans[0].Attributes())["error.type"].AsString(); et != "429" {
		t.Fatalf("error.type = %q", et)
	}
	d := sink.histograms(t)["gen_ai.client.operation.duration"]
	if len(d) != 1 {
		t.Fatalf("duration points = %d", len(d))
	}
	if et, _ := d[0].Attributes.Value("error.type"); et.AsString() != "429" {
		t.Fatalf("duration error.type = %v", et.AsString())
	}
	if tok := sink.histograms(t)["gen_ai.client.token.usage"]; len(tok) != 0 {
		t.Fatalf("token usage recorded for a failed call: %v", tok)
	}
}

func TestTelemetryContentCaptureOptIn(t *testing.T) {
	sink := newSink(t)
	srv := newFakeServer(t, reply{body: openAIStreamBody, sse: true})
	p := newTestOpenAI(t, srv.URL, sink.option(), WithContentCapture())
	req := Request{System: "Be brief.", Messages: []Message{{Role: RoleUser, Content: "Say hello"}}, OnDelta: func(string) {}}
	if _, err := p.Execute(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	a := attrMap(sink.spans.Ended()[0].Attributes())
	if got := a["gen_ai.system_instructions"].AsString(); got != `[{"type":"text","content":"Be brief."}]` {
		t.Errorf("system_instructions = %s", got)
	}
	if got := a["gen_ai.input.messages"].AsString(); got != `[{"role":"user","parts":[{"type":"text","content":"Say hello"}]}]` {
		t.Errorf("input.messages = %s", got)
	}
	if got := a["gen_ai.output.messages"].AsString(); got != `[{"role":"assistant","parts":[{"type":"text","content":"Hello!"}],"finish_reason":"stop"}]` {
		t.Errorf("output.messages = %s", got)
	}
	if got := a["gen_ai.usage.input_tokens"].AsInt64(); got != 9 {
		t.Errorf("input_tokens = %d", got)
	}
}

func TestTelemetryAnthropicSDKSpan(t *testing.T) {
	// By default the SDK's own span is off: exactly one span per call, and
	// no trace context is sent.
	sink := newSink(t)
	srv := newFakeServer(t, reply{body: anthropicMessageBody})
	p := newTestAnthropic(t, srv.URL, sink.option())
	if _, err := p.Execute(context.Background(), userRequest("x")); err != nil {
		t.Fatal(err)
	}
	if n := len(sink.spans.Ended()); n != 1 {
		t.Fatalf("%d spans by default, want 1", n)
	}

	// WithSDKSpans: the SDK's span is a child of ours, on the same provider,
	// and carries no content unless WithContentCapture is given, even when
	// the SDK's own variable asks for it.
	t.Setenv("ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE", "content")
	sink = newSink(t)
	p = newTestAnthropic(t, srv.URL, sink.option(), WithSDKSpans())
	if _, err := p.Execute(context.Background(), userRequest("x")); err != nil {
		t.Fatal(err)
	}
	spans := sink.spans.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans with WithSDKSpans, want 2", len(spans))
	}
	var ours, sdk sdktrace.ReadOnlySpan
	for _, s := range spans {
		if strings.HasPrefix(s.Name(), "chat ") {
			ours = s
		} else {
			sdk = s
		}
	}
	if ours == nil || sdk == nil {
		t.Fatalf("spans %q, %q", spans[0].Name(), spans[1].Name())
	}
	if sdk.Parent().SpanID() != ours.SpanContext().SpanID() || sdk.SpanContext().TraceID() != ours.SpanContext().TraceID() {
		t.Fatalf("the SDK's span %q is not a child of %q", sdk.Name(), ours.Name())
	}
	for _, kv := range sdk.Attributes() {
		if strings.Contains(kv.Value.Emit(), "Hello") || kv.Key == "gen_ai.input.messages" || kv.Key == "gen_ai.output.messages" {
			t.Fatalf("the SDK's span carries content: %s", kv.Key)
		}
	}
}

func TestTelemetryNoProviderNoSpan(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicMessageBody})
	p := newTestAnthropic(t, srv.URL)
	// With the globals untouched nothing records; the call still works.
	if _, err := p.Execute(context.Background(), userRequest("x")); err != nil {
		t.Fatal(err)
	}
	if got := srv.last(t).header.Get("Traceparent"); got != "" {
		t.Fatalf("traceparent %q sent with tracing off", got)
	}
}
