package e2b_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/integrations/e2b/e2btest"
	"github.com/ttadev/primitives/sandbox"
)

// instantProvider runs nothing: every Run returns the same small
// execution at once. Behind the fake server it isolates the client's and
// the protocol's cost from the code's own run time.
type instantProvider struct{}

func (instantProvider) Name() string { return "instant" }
func (instantProvider) Create(context.Context, sandbox.CreateOptions) (sandbox.Sandbox, error) {
	return instantSandbox{}, nil
}

type instantSandbox struct{}

func (instantSandbox) ID() string { return "instant" }
func (instantSandbox) Run(_ context.Context, _ string, o sandbox.RunOptions) (*sandbox.Execution, error) {
	msg := sandbox.OutputMessage{Text: "42\n", Timestamp: time.Now()}
	if o.OnStdout != nil {
		o.OnStdout(msg)
	}
	return &sandbox.Execution{Stdout: []sandbox.OutputMessage{msg},
		Results: []sandbox.Result{{IsMainResult: true, Text: "42"}}, ExecutionCount: 1}, nil
}
func (instantSandbox) Reset(context.Context) error { return nil }
func (instantSandbox) Close(context.Context) error { return nil }

// BenchmarkClientOverheadPerExecution measures one Execute against the
// fake server on loopback with an instant backend: request encoding, HTTP,
// the fake's routing and streaming, and decoding. It reports the p50 and
// p99 latency.
func BenchmarkClientOverheadPerExecution(b *testing.B) {
	srv := e2btest.NewServer(e2btest.WithProvider(instantProvider{}))
	defer srv.Close()
	c, err := e2b.NewClient(srv.ClientOptions()...)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	sb, err := c.CreateSandbox(ctx, e2b.CreateParams{})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Kill(ctx)
	var lat []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		ex, err := sb.Execute(ctx, "6*7", e2b.ExecuteOptions{})
		lat = append(lat, time.Since(start))
		if err != nil || ex.Text() != "42" {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkInstantBackendDirect is the baseline: the same backend called
// directly, without E2B's protocol.
func BenchmarkInstantBackendDirect(b *testing.B) {
	sb, _ := instantProvider{}.Create(context.Background(), sandbox.CreateOptions{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sb.Run(context.Background(), "6*7", sandbox.RunOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProviderReset measures a stateless reset of a provider's
// sandbox against the fake server with real Python behind it: the
// clean-up execution (processes, files) and the context restart. On E2B
// the restart alone takes about 0.8 s; this is the client's and the
// protocol's share plus the local kernel's.
func BenchmarkProviderReset(b *testing.B) {
	srv := newFake(b)
	p := newClient(b, srv).Provider()
	ctx := context.Background()
	sb, err := p.Create(ctx, sandbox.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close(ctx)
	b.ReportAllocs()
	for b.Loop() {
		if err := sb.Reset(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
