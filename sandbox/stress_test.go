package sandbox_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ttadev/primitives/sandbox"
)

// TestLocalStress200CallersOver8Sandboxes sends 10,000 executions from 200
// concurrent callers through one CodeExecution over a pool of 8 real local
// sandboxes, then checks that every answer was right, that the pool never
// ran more than 8 sandboxes, and that nothing leaked: no goroutine, no
// child process, no sandbox left open, no heap growth.
func TestLocalStress200CallersOver8Sandboxes(t *testing.T) {
	const (
		callers    = 200
		executions = 10_000
		sandboxes  = 8
	)
	prov := localProvider(t)
	baseChildren := len(childProcesses(t))
	baseGoroutines := runtime.NumGoroutine()
	runtime.GC()
	baseHeap := heapBytes()

	ce := sandbox.NewCodeExecution(prov, quiet, sandbox.MaxSandboxes(sandboxes))
	var (
		next      atomic.Int64
		failures  atomic.Int64
		firstErr  sync.Once
		errDetail string
		stop      = make(chan struct{})
		peakKids  atomic.Int64
		peakHeap  atomic.Uint64
		sampler   sync.WaitGroup
	)
	sampler.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if n := int64(len(childProcesses(t)) - baseChildren); n > peakKids.Load() {
				peakKids.Store(n)
			}
			if h := heapBytes(); h > peakHeap.Load() {
				peakHeap.Store(h)
			}
		}
	})

	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > executions {
					return
				}
				out, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: fmt.Sprintf("print(%d * 2)", i)})
				if want := fmt.Sprintf("%d\n", 2*i); err != nil || out.Logs != want {
					failures.Add(1)
					firstErr.Do(func() { errDetail = fmt.Sprintf("execution %d: %v, logs %q", i, err, out.Logs) })
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	sampler.Wait()

	stats := ce.Pool().Stats()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ce.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d executions failed; first: %s", n, executions, errDetail)
	}
	if stats.Created > sandboxes || stats.Discarded != 0 {
		t.Fatalf("pool stats %+v: want at most %d sandboxes, none discarded", stats, sandboxes)
	}
	if p := peakKids.Load(); p > sandboxes {
		t.Fatalf("%d sandbox processes at once, bound is %d", p, sandboxes)
	}
	closed := ce.Pool().Stats()
	if closed.Closed != closed.Created || closed.InUse != 0 || closed.Idle != 0 {
		t.Fatalf("after Close: %+v", closed)
	}
	eventually(t, "no child process left", func() bool { return len(childProcesses(t)) <= baseChildren })
	settleGoroutines(t, baseGoroutines)

	// Memory: the peak during the run and what remains after it.
	const bound = 64 << 20
	if grew := int64(peakHeap.Load()) - int64(baseHeap); grew > bound {
		t.Fatalf("heap grew by %d MiB during the run", grew>>20)
	}
	runtime.GC()
	if grew := int64(heapBytes()) - int64(baseHeap); grew > 8<<20 {
		t.Fatalf("heap is %d MiB larger after the run", grew>>20)
	}
	t.Logf("%d executions, %d sandboxes created, peak %d processes, peak heap +%d KiB",
		executions, stats.Created, peakKids.Load(), (int64(peakHeap.Load())-int64(baseHeap))>>10)
}

// heapBytes returns the bytes of live and not-yet-swept heap objects.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
