package llm

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestGlobalTracerProviderOneSpanPerCall installs a global tracer provider
// and propagator, as a program that sets up OpenTelemetry does, and checks
// that a call still makes exactly one span (the SDK's own is off), and
// that WithSDKSpans makes the SDK's span a child of ours. It runs in a
// child process, since the OpenTelemetry globals cannot be restored.
func TestGlobalTracerProviderOneSpanPerCall(t *testing.T) {
	if os.Getenv("LLM_TEST_GLOBAL_CHILD") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestGlobalTracerProviderOneSpanPerCall$", "-test.v")
		cmd.Env = append(os.Environ(), "LLM_TEST_GLOBAL_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestGlobalTracerProviderOneSpanPerCall") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})

	srv := newFakeServer(t, reply{body: anthropicMessageBody})

	// The SDK left to itself makes a span through the global provider.
	raw := anthropic.NewClient(aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(srv.URL), aoption.WithAPIKey(testAnthropicKey))
	if _, err := raw.Messages.New(context.Background(), anthropic.MessageNewParams{Model: "m", MaxTokens: 5,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))}}); err != nil {
		t.Fatal(err)
	}
	if spans := rec.Ended(); len(spans) != 1 || spans[0].Name() != "anthropic.messages.create" {
		t.Fatalf("the raw SDK made %d spans, want its own one", len(spans))
	}
	rec.Reset()

	p := newTestAnthropic(t, srv.URL)
	if _, err := p.Execute(context.Background(), userRequest("x")); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].Name() != "chat claude-sonnet-4-5" {
		names := []string{}
		for _, s := range spans {
			names = append(names, s.Name())
		}
		t.Fatalf("spans = %q, want only our chat span", names)
	}
	if tp := srv.last(t).header.Get("Traceparent"); tp != "" {
		t.Fatalf("traceparent %q sent with the SDK's span off", tp)
	}

	p = newTestAnthropic(t, srv.URL, WithSDKSpans())
	if _, err := p.Execute(context.Background(), userRequest("x")); err != nil {
		t.Fatal(err)
	}
	spans = rec.Ended()[1:]
	if len(spans) != 2 {
		t.Fatalf("%d spans with WithSDKSpans, want 2", len(spans))
	}
	sdk, ours := spans[0], spans[1]
	if !strings.HasPrefix(ours.Name(), "chat ") || sdk.Parent().SpanID() != ours.SpanContext().SpanID() {
		t.Fatalf("spans %q (parent %s) and %q (%s): the SDK's is not a child of ours", sdk.Name(), sdk.Parent().SpanID(), ours.Name(), ours.SpanContext().SpanID())
	}
	if tp := srv.last(t).header.Get("Traceparent"); !strings.Contains(tp, sdk.SpanContext().SpanID().String()) {
		t.Fatalf("traceparent %q does not name the SDK's span", tp)
	}
}
