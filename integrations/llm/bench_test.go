package llm

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ttadev/primitives/observability"
)

// The overhead benchmarks time, alternately, a call made with the SDK
// directly and the same call made through the provider, against the same
// loopback server with the same HTTP client, and report the median of
// each and the difference of the medians (overhead-p50-µs): what the
// primitive adds to a raw SDK call. Run them with
//
//	go test -run '^$' -bench Overhead -benchtime 4000x ./integrations/llm/

type pairTimer struct {
	raw, ours []time.Duration
}

func (p *pairTimer) report(b *testing.B) {
	slices.Sort(p.raw)
	slices.Sort(p.ours)
	rawP50, oursP50 := p.raw[len(p.raw)/2], p.ours[len(p.ours)/2]
	b.ReportMetric(float64(rawP50.Nanoseconds())/1e3, "sdk-p50-µs")
	b.ReportMetric(float64(oursP50.Nanoseconds())/1e3, "primitive-p50-µs")
	b.ReportMetric(float64((oursP50-rawP50).Nanoseconds())/1e3, "overhead-p50-µs")
}

func timeIt(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

func BenchmarkOverheadAnthropic(b *testing.B) {
	benchAnthropic(b)
}

// BenchmarkOverheadAnthropicTraced is the same with a recording tracer
// provider and a meter provider installed on the primitive.
func BenchmarkOverheadAnthropicTraced(b *testing.B) {
	tp := sdktrace.NewTracerProvider()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	benchAnthropic(b, observability.WithProviders(observability.Providers{TracerProvider: tp, MeterProvider: mp}))
}

func benchAnthropic(b *testing.B, opts ...AnthropicOption) {
	srv := newFakeServer(b, reply{body: anthropicMessageBody})
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	p := newTestAnthropic(b, srv.URL, append([]AnthropicOption{WithHTTPClient(hc)}, opts...)...)
	raw := anthropic.NewClient(aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(srv.URL),
		aoption.WithAPIKey(testAnthropicKey), aoption.WithHTTPClient(hc), aoption.WithMaxRetries(0), aoption.WithoutOpenTelemetry())
	params := anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: DefaultMaxTokens,
		System:   []anthropic.TextBlockParam{{Text: "You write Python."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Print hello."))},
	}
	req := Request{System: "You write Python.", Messages: []Message{{Role: RoleUser, Content: "Print hello."}}}
	ctx := context.Background()
	pt := pairTimer{raw: make([]time.Duration, 0, b.N), ours: make([]time.Duration, 0, b.N)}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		d, err := timeIt(func() error { _, err := raw.Messages.New(ctx, params); return err })
		if err != nil {
			b.Fatal(err)
		}
		pt.raw = append(pt.raw, d)
		d, err = timeIt(func() error { _, err := p.Execute(ctx, req); return err })
		if err != nil {
			b.Fatal(err)
		}
		pt.ours = append(pt.ours, d)
	}
	b.StopTimer()
	pt.report(b)
}

func BenchmarkOverheadOpenAI(b *testing.B) {
	srv := newFakeServer(b, reply{body: openAICompletionBody})
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	p := newTestOpenAI(b, srv.URL, WithHTTPClient(hc))
	raw := openai.NewChatCompletionService(ooption.WithBaseURL(srv.URL), ooption.WithAPIKey(testOpenAIKey),
		ooption.WithHTTPClient(hc), ooption.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{
		Model: "gpt-4.1",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You write Python."), openai.UserMessage("Print hello."),
		},
	}
	req := Request{System: "You write Python.", Messages: []Message{{Role: RoleUser, Content: "Print hello."}}}
	ctx := context.Background()
	pt := pairTimer{raw: make([]time.Duration, 0, b.N), ours: make([]time.Duration, 0, b.N)}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		d, err := timeIt(func() error { _, err := raw.New(ctx, params); return err })
		if err != nil {
			b.Fatal(err)
		}
		pt.raw = append(pt.raw, d)
		d, err = timeIt(func() error { _, err := p.Execute(ctx, req); return err })
		if err != nil {
			b.Fatal(err)
		}
		pt.ours = append(pt.ours, d)
	}
	b.StopTimer()
	pt.report(b)
}

// BenchmarkPromptStep measures Prompt's own cost over a primitive that
// answers at once.
func BenchmarkPromptStep(b *testing.B) {
	p := Prompt(funcProvider(func(context.Context, Request) (Response, error) { return Response{Text: "x"}, nil }),
		func(s string) Request { return Request{Messages: []Message{{Role: RoleUser, Content: s}}} })
	ctx := context.Background()
	b.ReportAllocs()
	for range b.N {
		if _, err := p.Execute(ctx, "task"); err != nil {
			b.Fatal(err)
		}
	}
}

type funcProvider func(context.Context, Request) (Response, error)

func (f funcProvider) Execute(ctx context.Context, r Request) (Response, error) { return f(ctx, r) }
