//go:build linux

package local

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/sandbox"
)

// bareForkP50 is the p50 of a bare fork + _exit + waitpid of the
// interpreter, the floor any new process costs on this machine, measured
// by the interpreter itself (200 rounds).
func bareForkP50(b *testing.B, python string) time.Duration {
	out, err := exec.Command(python, "-I", "-c", `
import os, time
ts = []
for _ in range(200):
    t = time.perf_counter_ns()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    ts.append(time.perf_counter_ns() - t)
ts.sort()
print(ts[len(ts) // 2])`).Output()
	if err != nil {
		b.Fatal(err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return time.Duration(ns)
}

// BenchmarkNewSandboxVsFork measures creating a sandbox with its cgroup,
// from Create until the worker is ready (p50), and reports it next to a
// bare fork+_exit+waitpid of the same interpreter measured in the same
// run, and their ratio (target: at most 10).
func BenchmarkNewSandboxVsFork(b *testing.B) {
	p := sharedProvider(b)
	ctx := context.Background()
	fork := bareForkP50(b, p.Interpreter())
	times := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		s, err := p.Create(ctx, sandbox.CreateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
		s.Close(ctx)
	}
	reportPercentiles(b, times)
	p50 := percentile(times, 0.5)
	b.ReportMetric(float64(fork.Nanoseconds())/1e6, "bare-fork-p50-ms")
	b.ReportMetric(float64(p50)/float64(fork), "p50/bare-fork")
	b.Logf("cgroups: %v", p.cgroups != nil && p.cgroups.fs != nil)
}

// percentile returns the p-th percentile of sorted d.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// BenchmarkSandboxCgroup measures what the cgroup adds to a sandbox's
// creation and removal: its directories and limits, then removing them
// (the provider's directory held by another sandbox).
func BenchmarkSandboxCgroup(b *testing.B) {
	p := sharedProvider(b)
	if p.cgroups == nil {
		b.Skip("no cgroup on this host")
	}
	hold, err := p.newCgroup("bench-hold")
	if err != nil {
		b.Fatal(err)
	}
	defer hold.remove()
	times := make([]time.Duration, 0, b.N)
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		cg, err := p.newCgroup("bench-" + strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		if err := cg.remove(); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	reportPercentiles(b, times)
}
