package performance_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/performance"
	"github.com/ttadev/primitives/recovery"
)

// gate is an inner primitive whose calls block until released, and which
// records how many run at once.
type gate struct {
	release  chan struct{}
	running  atomic.Int64
	peak     atomic.Int64
	finished atomic.Int64
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) Execute(ctx context.Context, n int) (int, error) {
	now := g.running.Add(1)
	for {
		p := g.peak.Load()
		if now <= p || g.peak.CompareAndSwap(p, now) {
			break
		}
	}
	defer g.running.Add(-1)
	select {
	case <-g.release:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	g.finished.Add(1)
	return n, nil
}

func TestBulkheadFailsFastByDefault(t *testing.T) {
	g := newGate()
	b := performance.Bulkhead[int, int](g, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { _, _ = b.Execute(context.Background(), i) })
	}
	waitFor(t, "two calls in flight", func() bool { return b.InFlight() == 2 })
	_, err := b.Execute(context.Background(), 3)
	if !errors.Is(err, performance.ErrBulkheadFull) || !recovery.IsRetryable(err) {
		t.Fatalf("third call: %v (retryable %v)", err, recovery.IsRetryable(err))
	}
	if b.Rejected() != 1 {
		t.Fatalf("rejected %d", b.Rejected())
	}
	close(g.release)
	wg.Wait()
	if out, err := b.Execute(context.Background(), 4); err != nil || out != 4 {
		t.Fatalf("after release: %d %v", out, err)
	}
	if b.InFlight() != 0 {
		t.Fatalf("slots leaked: %d", b.InFlight())
	}
}

func TestBulkheadQueue(t *testing.T) {
	g := newGate()
	b := performance.Bulkhead[int, int](g, 1, performance.MaxQueue(1))
	results := make(chan error, 2)
	go func() { _, err := b.Execute(context.Background(), 1); results <- err }()
	waitFor(t, "one call in flight", func() bool { return b.InFlight() == 1 })
	go func() { _, err := b.Execute(context.Background(), 2); results <- err }()
	waitFor(t, "one call queued", func() bool { return b.Queued() == 1 })
	if _, err := b.Execute(context.Background(), 3); !errors.Is(err, performance.ErrBulkheadFull) {
		t.Fatalf("call beyond the queue: %v", err)
	}
	close(g.release)
	for range 2 {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	if g.finished.Load() != 2 || g.peak.Load() != 1 {
		t.Fatalf("finished %d, peak %d", g.finished.Load(), g.peak.Load())
	}
}

func TestBulkheadQueuedCallHonoursContextAndMaxWait(t *testing.T) {
	g := newGate()
	defer close(g.release)
	b := performance.Bulkhead[int, int](g, 1, performance.MaxQueue(5), performance.MaxWait(20*time.Millisecond))
	go func() { _, _ = b.Execute(context.Background(), 1) }()
	waitFor(t, "one call in flight", func() bool { return b.InFlight() == 1 })

	ctx, cancel := context.WithCancelCause(context.Background())
	errc := make(chan error)
	go func() { _, err := b.Execute(ctx, 2); errc <- err }()
	waitFor(t, "one call queued", func() bool { return b.Queued() == 1 })
	stop := errors.New("caller stopped")
	cancel(stop)
	if err := <-errc; !errors.Is(err, stop) {
		t.Fatalf("cancelled while queued: %v", err)
	}
	if b.Queued() != 0 {
		t.Fatalf("queue not released: %d", b.Queued())
	}
	if _, err := b.Execute(context.Background(), 3); !errors.Is(err, performance.ErrBulkheadFull) {
		t.Fatalf("after MaxWait: %v", err)
	}
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if _, err := b.Execute(done, 4); !errors.Is(err, context.Canceled) {
		t.Fatalf("dead context: %v", err)
	}
}

func TestBulkheadBoundsConcurrency(t *testing.T) {
	var running, peak atomic.Int64
	inner := primitives.Func[int, int](func(_ context.Context, n int) (int, error) {
		now := running.Add(1)
		for {
			p := peak.Load()
			if now <= p || peak.CompareAndSwap(p, now) {
				break
			}
		}
		time.Sleep(100 * time.Microsecond)
		running.Add(-1)
		return n, nil
	})
	b := performance.Bulkhead(inner, 3, performance.MaxQueue(100))
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 64 {
		wg.Go(func() {
			if out, err := b.Execute(context.Background(), i); err != nil || out != i {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || peak.Load() > 3 || peak.Load() < 1 {
		t.Fatalf("failed %d, peak concurrency %d (bound 3)", failed.Load(), peak.Load())
	}
}

func TestBulkheadConstructorPanics(t *testing.T) {
	p := primitives.Lift(func(n int) int { return n })
	mustPanic(t, "Bulkhead: primitive is nil", func() { performance.Bulkhead[int, int](nil, 1) })
	mustPanic(t, "Bulkhead: maxConcurrent must be >= 1, got 0", func() { performance.Bulkhead(p, 0) })
	mustPanic(t, "MaxQueue: n must be >= 0", func() { performance.MaxQueue(-1) })
	mustPanic(t, "MaxWait: duration must be > 0", func() { performance.MaxWait(0) })
	mustPanic(t, "Bulkhead: option 0 is nil", func() { performance.Bulkhead(p, 1, nil) })
}
