package sandbox_test

import (
	"context"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/sandboxtest"
)

// reportLatency adds p50 and p99 of lat (in µs) to the benchmark's
// output.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		return float64(lat[int(q*float64(len(lat)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// BenchmarkCodeExecutionWarm measures a trivial cell through the
// CodeExecution primitive on a warm local sandbox, in both pool modes, and
// the same cell sent straight to the sandbox for comparison (the added
// cost of the primitive and its pool is the difference).
func BenchmarkCodeExecutionWarm(b *testing.B) {
	prov := localProvider(b)
	in := sandbox.CodeInput{Code: "1 + 1"}
	for _, mode := range []struct {
		name string
		opt  sandbox.Option
	}{{"stateless", sandbox.Stateless()}, {"session", sandbox.SessionMode()}} {
		b.Run(mode.name, func(b *testing.B) {
			ce := newExec(b, prov, sandbox.MaxSandboxes(1), mode.opt)
			ctx := context.Background()
			if _, err := ce.Execute(ctx, in); err != nil { // warm up
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				out, err := ce.Execute(ctx, in)
				lat = append(lat, time.Since(start))
				if err != nil || out.Text() != "2" {
					b.Fatalf("%v %+v", err, out)
				}
			}
			b.StopTimer()
			reportLatency(b, lat)
		})
	}
	b.Run("direct-sandbox", func(b *testing.B) {
		ctx := context.Background()
		sb, err := prov.Create(ctx, sandbox.CreateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer sb.Close(ctx)
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for b.Loop() {
			start := time.Now()
			exec, err := sb.Run(ctx, in.Code, sandbox.RunOptions{})
			lat = append(lat, time.Since(start))
			if err != nil || exec.Text() != "2" {
				b.Fatalf("%v %+v", err, exec)
			}
		}
		b.StopTimer()
		reportLatency(b, lat)
	})
}

// BenchmarkCodeExecutionThroughput runs trivial cells from parallel
// callers through one primitive over pools of 2, 4 and 8 local sandboxes
// and reports executions per second.
func BenchmarkCodeExecutionThroughput(b *testing.B) {
	prov := localProvider(b)
	for _, n := range []int{2, 4, 8} {
		b.Run("sandboxes="+strconv.Itoa(n), func(b *testing.B) {
			ce := newExec(b, prov, sandbox.MaxSandboxes(n))
			ctx := context.Background()
			// Warm the pool: n concurrent first calls create n sandboxes.
			warm := make(chan error, n)
			for range n {
				go func() {
					_, err := ce.Execute(ctx, sandbox.CodeInput{Code: "import time; time.sleep(0.05)"})
					warm <- err
				}()
			}
			for range n {
				if err := <-warm; err != nil {
					b.Fatal(err)
				}
			}
			var failed atomic.Int64
			// GOMAXPROCS*n callers keep every sandbox busy.
			b.SetParallelism(n)
			start := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				in := sandbox.CodeInput{Code: "1 + 1"}
				for pb.Next() {
					if out, err := ce.Execute(ctx, in); err != nil || !out.Success {
						failed.Add(1)
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "exec/s")
			if failed.Load() != 0 {
				b.Fatalf("%d executions failed", failed.Load())
			}
		})
	}
}

// BenchmarkPoolOverhead measures the pool and primitive alone over a test
// provider whose sandboxes answer at once: the cost this package adds to
// every execution.
func BenchmarkPoolOverhead(b *testing.B) {
	exec := sandboxtest.Output("2")
	prov := sandboxtest.New(func(context.Context, *sandboxtest.Sandbox, string, sandbox.RunOptions) (*sandbox.Execution, error) {
		return exec, nil
	})
	b.Run("Pool.Run", func(b *testing.B) {
		pool := sandbox.NewPool(prov, sandbox.SessionMode())
		defer pool.Close(context.Background())
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := pool.Run(ctx, "x", sandbox.RunOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CodeExecution", func(b *testing.B) {
		ce := newExec(b, prov, sandbox.SessionMode())
		ctx := context.Background()
		in := sandbox.CodeInput{Code: "x"}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ce.Execute(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
