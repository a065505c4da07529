package codemode_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/agent/codemode"
	"github.com/ttadev/primitives/integrations/llm"
)

// BenchmarkToolCallRoundTrip measures one tool call of a program: from
// Python through the sandbox's channel to the host, the schema check, a
// Go tool, and the result back into Python — timed in the program with
// perf_counter_ns around each call, reported as p50 and p99 over b.N
// calls made by one program.
func BenchmarkToolCallRoundTrip(b *testing.B) {
	weather := &fnTool{name: "get_weather",
		schema: `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`,
		fn: func(ctx context.Context, args json.RawMessage) ([]llm.Block, error) {
			return []llm.Block{llm.Text{Text: `{"celsius":18}`}}, nil
		}}
	p, err := codemode.New(localProvider(b), []agent.Tool{weather}, codemode.WithMaxCalls(b.N+1))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	if _, err := p.Run(context.Background(), "1"); err != nil { // warm the pool
		b.Fatal(err)
	}
	code := `
import time
ts = []
for i in range(` + strconv.Itoa(b.N) + `):
    t0 = time.perf_counter_ns()
    tools.get_weather(city="Paris")
    ts.append(time.perf_counter_ns() - t0)
ts.sort()
print(ts[len(ts)//2], ts[min(len(ts)-1, len(ts)*99//100)])`
	b.ResetTimer()
	rep, err := p.Run(context.Background(), code)
	b.StopTimer()
	if err != nil || rep.Execution.Error != nil {
		b.Fatalf("run: %v %+v", err, rep.Execution.Error)
	}
	f := strings.Fields(rep.Execution.StdoutText())
	p50, _ := strconv.ParseFloat(f[0], 64)
	p99, _ := strconv.ParseFloat(f[1], 64)
	b.ReportMetric(p50/1e3, "p50-µs")
	b.ReportMetric(p99/1e3, "p99-µs")
}
