//go:build linux

package local

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/sandbox"
)

// BenchmarkHostCall measures one call from Python to a Go function and
// back in a session (p50 and p99 of the round trip as the code sees it,
// timed in the sandbox with perf_counter_ns, over b.N calls).
func BenchmarkHostCall(b *testing.B) {
	s := newSandbox(b, sharedProvider(b), sandbox.CreateOptions{})
	echo := func(ctx context.Context, name string, args []byte) ([]byte, error) { return args, nil }
	code := `
import sandbox_host, time
call = sandbox_host.call
ts = []
for i in range(` + strconv.Itoa(b.N) + `):
    t0 = time.perf_counter_ns()
    call("echo", {"city": "Paris", "n": i})
    ts.append(time.perf_counter_ns() - t0)
ts.sort()
print(ts[len(ts)//2], ts[min(len(ts)-1, len(ts)*99//100)])`
	b.ResetTimer()
	ex, err := s.Run(context.Background(), code, sandbox.RunOptions{Timeout: 10 * time.Minute, OnHostCall: echo})
	b.StopTimer()
	if err != nil || ex.Error != nil {
		b.Fatalf("run: %v %v", err, ex.Error)
	}
	f := strings.Fields(stdoutOf(ex))
	p50, _ := strconv.ParseFloat(f[0], 64)
	p99, _ := strconv.ParseFloat(f[1], 64)
	b.ReportMetric(p50/1e3, "p50-µs")
	b.ReportMetric(p99/1e3, "p99-µs")
}
