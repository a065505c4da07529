package main

import (
	"context"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/internal/mcpserver"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

// BenchmarkStdioToolCallOverhead calls run_code on the built binary over
// stdio and reports, per call, the client's round trip minus the
// execution time the server's primitive measured for the same cell
// (execution_time_ms): what MCP, the transport and the tool handler add.
func BenchmarkStdioToolCallOverhead(b *testing.B) {
	cs, _ := startStdio(b, nil, io.Discard, "-log-level", "warn")
	defer cs.Close()
	runCell(b, cs, "x = 1") // create the session's sandbox
	params := &mcp.CallToolParams{Name: mcpserver.ToolRunCode, Arguments: map[string]any{"code": "x + 1"}}
	rtts := make([]float64, 0, b.N)
	overheads := make([]float64, 0, b.N)
	execs := make([]float64, 0, b.N)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		res, err := cs.CallTool(ctx, params)
		rtt := float64(time.Since(start).Microseconds()) / 1000
		if err != nil || res.IsError {
			b.Fatalf("call: %v %v", err, res)
		}
		out := structured[mcpserver.RunCodeOutput](b, res)
		if out.Result != "2" {
			b.Fatalf("result %q", out.Result)
		}
		rtts = append(rtts, rtt)
		execs = append(execs, out.ExecutionTimeMS)
		overheads = append(overheads, rtt-out.ExecutionTimeMS)
	}
	b.StopTimer()
	b.ReportMetric(percentile(overheads, 50), "overhead-p50-ms")
	b.ReportMetric(percentile(overheads, 99), "overhead-p99-ms")
	b.ReportMetric(percentile(rtts, 50), "roundtrip-p50-ms")
	b.ReportMetric(percentile(execs, 50), "primitive-p50-ms")
}

// BenchmarkPrimitiveDirect is the reference: the same cell through the
// same primitive configuration, in process, with no MCP.
func BenchmarkPrimitiveDirect(b *testing.B) {
	p, err := local.New(observability.WithLogger(quietLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	exec := sandbox.NewCodeExecution(p, sandbox.MaxSandboxes(1), sandbox.SessionMode(), observability.WithLogger(quietLogger()))
	defer exec.Close(context.Background())
	ctx := context.Background()
	if _, err := exec.Execute(ctx, sandbox.CodeInput{Code: "x = 1"}); err != nil {
		b.Fatal(err)
	}
	lat := make([]float64, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		out, err := exec.Execute(ctx, sandbox.CodeInput{Code: "x + 1"})
		if err != nil || out.Text() != "2" {
			b.Fatalf("execute: %v %q", err, out.Text())
		}
		lat = append(lat, float64(time.Since(start).Microseconds())/1000)
	}
	b.StopTimer()
	b.ReportMetric(percentile(lat, 50), "p50-ms")
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}
