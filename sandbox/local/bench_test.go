//go:build linux

package local

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
)

// reportPercentiles adds p50 and p99 of the individual iterations.
func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	pct := func(p float64) float64 {
		return float64(d[min(len(d)-1, int(float64(len(d))*p))].Nanoseconds())
	}
	b.ReportMetric(pct(0.50)/1e6, "p50-ms")
	b.ReportMetric(pct(0.99)/1e6, "p99-ms")
}

// BenchmarkNewSandbox measures a new fully isolated sandbox, from Create
// to the answer of its first cell, and its Close.
func BenchmarkNewSandbox(b *testing.B) {
	p := sharedProvider(b)
	ctx := context.Background()
	times := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		s, err := p.Create(ctx, sandbox.CreateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ex, err := s.Run(ctx, "1+1", sandbox.RunOptions{})
		if err != nil || ex.Text() != "2" {
			b.Fatalf("%v %v", ex, err)
		}
		times = append(times, time.Since(start))
		s.Close(ctx)
	}
	reportPercentiles(b, times)
}

// BenchmarkWarmRun measures one trivial cell on a warm sandbox.
func BenchmarkWarmRun(b *testing.B) {
	p := sharedProvider(b)
	ctx := context.Background()
	s, err := p.Create(ctx, sandbox.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	times := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		ex, err := s.Run(ctx, "1+1", sandbox.RunOptions{})
		if err != nil || ex.Text() != "2" {
			b.Fatalf("%v %v", ex, err)
		}
		times = append(times, time.Since(start))
	}
	reportPercentiles(b, times)
}

// BenchmarkWarmRunOutput is a cell that prints, so both streams and the
// end markers take part.
func BenchmarkWarmRunOutput(b *testing.B) {
	p := sharedProvider(b)
	ctx := context.Background()
	s, err := p.Create(ctx, sandbox.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	for b.Loop() {
		ex, err := s.Run(ctx, "print('hello')", sandbox.RunOptions{})
		if err != nil || ex.StdoutText() != "hello\n" {
			b.Fatalf("%v %v", ex, err)
		}
	}
}

// BenchmarkParallelSandboxes runs trivial cells on 4 warm sandboxes at
// once; executions/s is the throughput on this machine.
func BenchmarkParallelSandboxes(b *testing.B) {
	const n = 4
	p := sharedProvider(b)
	ctx := context.Background()
	boxes := make(chan sandbox.Sandbox, n)
	for range n {
		s, err := p.Create(ctx, sandbox.CreateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close(ctx)
		boxes <- s
	}
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	work := make(chan struct{}, b.N)
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := <-boxes
			for range work {
				if ex, err := s.Run(ctx, "1+1", sandbox.RunOptions{}); err != nil || ex.Text() != "2" {
					b.Errorf("%v %v", ex, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "executions/s")
}

// BenchmarkStatelessCall measures a trivial call through the primitive
// with its default stateless pool: each call runs in a clean slate (a
// child forked from the sandbox's pristine zygote; afterwards every
// process it left is killed and the writable directories are emptied).
// One sandbox, so every call after the first reuses it. It reports the
// percentiles next to a bare fork+_exit+waitpid of the same interpreter
// measured in the same run (a clean slate needs one new process: the
// targets are p50 at most 2 and p99 at most 4 times that floor).
func BenchmarkStatelessCall(b *testing.B) {
	p := sharedProvider(b)
	fork := bareForkP50(b, p.Interpreter())
	ce := sandbox.NewCodeExecution(p, sandbox.MaxSandboxes(1), observability.WithLogger(quiet))
	defer ce.Close(context.Background())
	ctx := context.Background()
	in := sandbox.CodeInput{Code: "1+1"}
	if out, err := ce.Execute(ctx, in); err != nil || out.Text() != "2" {
		b.Fatalf("%+v %v", out, err)
	}
	times := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		out, err := ce.Execute(ctx, in)
		if err != nil || out.Text() != "2" {
			b.Fatalf("%+v %v", out, err)
		}
		times = append(times, time.Since(start))
	}
	reportPercentiles(b, times)
	b.ReportMetric(float64(fork.Nanoseconds())/1e6, "bare-fork-p50-ms")
	b.ReportMetric(float64(percentile(times, 0.5))/float64(fork), "p50/bare-fork")
	b.ReportMetric(float64(percentile(times, 0.99))/float64(fork), "p99/bare-fork")
	if s := ce.Pool().Stats(); s.Created != 1 {
		b.Fatalf("the calls did not reuse one sandbox: %+v", s)
	}
}

// BenchmarkDenseSessions creates N live session sandboxes (N from the
// environment variable DENSE_SESSIONS, default 100) in parallel, runs one
// cell on each, and reports the time to create them all and the
// proportional set size (PSS, shared pages divided among their users) of
// one idle session: every process of every sandbox, summed, divided by N.
func BenchmarkDenseSessions(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("DENSE_SESSIONS")); err == nil && v > 0 {
		n = v
	}
	p := sharedProvider(b)
	ctx := context.Background()
	for b.Loop() {
		boxes := make([]*Sandbox, n)
		start := time.Now()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		var failed atomic.Int32
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				s, err := p.create(ctx, sandbox.CreateOptions{})
				if err != nil {
					b.Error(err)
					failed.Add(1)
					return
				}
				if ex, err := s.Run(ctx, "x = 1\nx", sandbox.RunOptions{}); err != nil || ex.Text() != "1" {
					b.Errorf("%v %v", ex, err)
				}
				boxes[i] = s
			}()
		}
		wg.Wait()
		created := time.Since(start)
		var pssKiB int64
		for _, s := range boxes {
			if s == nil {
				continue
			}
			for _, pid := range processTree(s.child.cmd.Process.Pid) {
				pssKiB += pss(pid)
			}
		}
		// What the memory watch costs: one sweep measures every sandbox
		// (it runs once a second; the fastest of five sweeps is reported).
		w := newTreeWalker()
		sweep := time.Duration(1 << 62)
		for range 5 {
			t0 := time.Now()
			for _, s := range boxes {
				if s != nil {
					w.anonResident(s.child.cmd.Process.Pid)
				}
			}
			sweep = min(sweep, time.Since(t0))
		}
		b.ReportMetric(float64(sweep.Microseconds())/1000, "ms-per-memory-sweep")
		b.ReportMetric(float64(pssKiB)/1024/float64(n), "MiB-PSS/session")
		b.ReportMetric(created.Seconds(), "s-to-create-all")
		b.ReportMetric(float64(n), "sessions")
		for _, s := range boxes {
			if s != nil {
				s.Close(ctx)
			}
		}
		if failed.Load() > 0 {
			b.Fatalf("%d sandboxes failed", failed.Load())
		}
	}
}

// pss returns the proportional set size of a process in KiB.
func pss(pid int) int64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return 0
}
