package performance_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/performance"
)

// TestCacheSingleFlight1000 holds 1,000 concurrent identical misses to
// exactly one run of the inner primitive.
func TestCacheSingleFlight1000(t *testing.T) {
	const callers = 1000
	var c *performance.CachePrimitive[string, string]
	var calls atomic.Int64
	inner := primitives.Func[string, string](func(ctx context.Context, s string) (string, error) {
		calls.Add(1)
		// Block until every caller is waiting for this run, or a short
		// time passed (then the counts below tell what went wrong).
		deadline := time.Now().Add(5 * time.Second)
		for performance.Waiters(c, s) < callers && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		return "value of " + s, nil
	})
	c = performance.Cache[string, string](inner)
	closeCache(t, c)

	start := make(chan struct{})
	var wg sync.WaitGroup
	var wrong atomic.Int64
	for range callers {
		wg.Go(func() {
			<-start
			out, err := c.Execute(context.Background(), "same")
			if err != nil || out != "value of same" {
				wrong.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("inner ran %d times for %d concurrent identical misses, want 1", n, callers)
	}
	if wrong.Load() != 0 {
		t.Fatalf("%d callers got a wrong result", wrong.Load())
	}
	s := c.Stats()
	if s.Loads != 1 || s.Misses != callers || s.Coalesced != callers-1 {
		t.Fatalf("stats %+v", s)
	}
}

// A caller whose context is cancelled leaves at once; the others still get
// the result, and the run is not cancelled.
func TestCacheWaiterCancellationLeavesOthersAlone(t *testing.T) {
	release := make(chan struct{})
	var runCtxErr atomic.Value
	var calls atomic.Int64
	inner := primitives.Func[string, string](func(ctx context.Context, s string) (string, error) {
		calls.Add(1)
		<-release
		if err := ctx.Err(); err != nil {
			runCtxErr.Store(err)
		}
		return s + "-done", nil
	})
	c := performance.Cache[string, string](inner)
	closeCache(t, c)

	// The first caller starts the run, then gives up.
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := c.Execute(leaderCtx, "k")
		leaderErr <- err
	}()
	waitFor(t, "the leader to start the run", func() bool { return performance.Waiters(c, "k") == 1 })

	// Two more callers join, one with a context that will be cancelled.
	followerCtx, cancelFollower := context.WithCancel(context.Background())
	followerErr := make(chan error, 1)
	go func() {
		_, err := c.Execute(followerCtx, "k")
		followerErr <- err
	}()
	patient := make(chan string, 1)
	go func() {
		out, _ := c.Execute(context.Background(), "k")
		patient <- out
	}()
	waitFor(t, "three waiters", func() bool { return performance.Waiters(c, "k") == 3 })

	cancelLeader()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled leader got %v", err)
	}
	cancelFollower()
	if err := <-followerErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled follower got %v", err)
	}
	if n := performance.Waiters(c, "k"); n != 1 {
		t.Fatalf("%d waiters left, want the patient one", n)
	}
	close(release)
	if out := <-patient; out != "k-done" {
		t.Fatalf("patient caller got %q", out)
	}
	if err := runCtxErr.Load(); err != nil {
		t.Fatalf("the run's context was cancelled by a waiter leaving: %v", err)
	}
	// The result was stored.
	if out, err := c.Execute(context.Background(), "k"); err != nil || out != "k-done" || calls.Load() != 1 {
		t.Fatalf("%q %v, calls %d", out, err, calls.Load())
	}
}

// When every caller leaves, the run is cancelled, and the next caller
// starts a fresh one.
func TestCacheRunCancelledWhenAllWaitersLeave(t *testing.T) {
	var calls atomic.Int64
	causes := make(chan error, 1)
	inner := primitives.Func[string, string](func(ctx context.Context, s string) (string, error) {
		if calls.Add(1) == 1 {
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return "", ctx.Err()
		}
		return "fresh", nil
	})
	c := performance.Cache[string, string](inner)
	closeCache(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Execute(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if cause := <-causes; !errors.Is(cause, performance.ErrAbandoned) {
		t.Fatalf("run cancelled with %v", cause)
	}
	if out, err := c.Execute(context.Background(), "k"); err != nil || out != "fresh" {
		t.Fatalf("%q %v", out, err)
	}
	if calls.Load() != 2 {
		t.Fatalf("calls %d", calls.Load())
	}
}

// The run keeps the first caller's context values (trace, workflow).
func TestCacheRunKeepsContextValues(t *testing.T) {
	got := make(chan string, 1)
	inner := primitives.Func[string, string](func(ctx context.Context, s string) (string, error) {
		if w := primitives.WorkflowFrom(ctx); w != nil {
			got <- w.CorrelationID()
		} else {
			got <- ""
		}
		return s, nil
	})
	c := performance.Cache[string, string](inner)
	closeCache(t, c)
	ctx := primitives.WithWorkflow(context.Background(), primitives.NewWorkflowContext(primitives.CorrelationID("run-7")))
	if _, err := c.Execute(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if id := <-got; id != "run-7" {
		t.Fatalf("inner saw correlation id %q", id)
	}
}

// Caches start no goroutine of their own: building, using and closing many
// leaves the goroutine count where it was.
func TestCacheLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 50 {
		c := performance.Cache(upper(), performance.TTL(time.Millisecond), performance.MaxEntries(4))
		for _, s := range []string{"a", "b", "a"} {
			if _, err := c.Execute(context.Background(), s); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "goroutines to settle", func() bool { return runtime.NumGoroutine() <= before })
}
