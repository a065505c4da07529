package performance_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/performance"
	"github.com/ttadev/primitives/recovery"
)

func echo() *counted[int, int] {
	return &counted[int, int]{f: func(_ context.Context, n int) (int, error) { return n, nil }}
}

func TestRateLimitFailsFastWithRetryAfter(t *testing.T) {
	inner := echo()
	r := performance.RateLimit[int, int](inner, rate.Every(time.Hour), 2)
	for i := range 2 {
		if _, err := r.Execute(context.Background(), i); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	_, err := r.Execute(context.Background(), 3)
	var rl *performance.RateLimitedError
	if !errors.As(err, &rl) || !errors.Is(err, performance.ErrRateLimited) {
		t.Fatalf("got %v", err)
	}
	if rl.Delay < 59*time.Minute || rl.Delay > time.Hour {
		t.Fatalf("retry after %s, want about an hour", rl.Delay)
	}
	if !recovery.IsRetryable(err) || recovery.RetryAfter(err) != rl.Delay {
		t.Fatalf("retryable %v, retry after %s", recovery.IsRetryable(err), recovery.RetryAfter(err))
	}
	if inner.calls.Load() != 2 || r.Rejected() != 1 {
		t.Fatalf("inner ran %d times, rejected %d", inner.calls.Load(), r.Rejected())
	}
	// The refusal gave its reservation back: tokens are not driven negative.
	if tok := r.Limiter().Tokens(); tok < -0.01 {
		t.Fatalf("tokens %v after a refusal", tok)
	}
}

func TestRateLimitWaits(t *testing.T) {
	inner := echo()
	r := performance.RateLimit[int, int](inner, rate.Every(10*time.Millisecond), 1, performance.Wait())
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 5 {
		wg.Go(func() {
			if out, err := r.Execute(context.Background(), i); err != nil || out != i {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || inner.calls.Load() != 5 || r.Rejected() != 0 {
		t.Fatalf("failed %d, calls %d, rejected %d", failed.Load(), inner.calls.Load(), r.Rejected())
	}
}

func TestRateLimitWaitHonoursContext(t *testing.T) {
	r := performance.RateLimit[int, int](echo(), rate.Every(time.Hour), 1, performance.Wait())
	_, _ = r.Execute(context.Background(), 0)

	// A deadline before the token: refused at once, not after a vain wait.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := r.Execute(ctx, 1); !errors.Is(err, performance.ErrRateLimited) {
		t.Fatalf("deadline before token: %v", err)
	}

	// Cancelled while waiting: the caller's error, and the token goes back.
	r2 := performance.RateLimit[int, int](echo(), rate.Every(time.Hour), 1, performance.Wait())
	_, _ = r2.Execute(context.Background(), 0)
	ctx2, cancel2 := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { _, err := r2.Execute(ctx2, 1); errc <- err }()
	waitFor(t, "the call to reserve its token", func() bool { return r2.Limiter().Tokens() < -0.5 })
	cancel2()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while waiting: %v", err)
	}
	if tok := r2.Limiter().Tokens(); tok < -0.01 {
		t.Fatalf("token not given back: %v", tok)
	}
}

func TestRateLimitMaxWait(t *testing.T) {
	r := performance.RateLimit[int, int](echo(), rate.Every(20*time.Millisecond), 1, performance.MaxWait(time.Second))
	_, _ = r.Execute(context.Background(), 0)
	if _, err := r.Execute(context.Background(), 1); err != nil {
		t.Fatalf("token within MaxWait: %v", err)
	}
	slow := performance.RateLimit[int, int](echo(), rate.Every(time.Hour), 1, performance.MaxWait(time.Millisecond))
	_, _ = slow.Execute(context.Background(), 0)
	if _, err := slow.Execute(context.Background(), 1); !errors.Is(err, performance.ErrRateLimited) {
		t.Fatalf("token beyond MaxWait: %v", err)
	}
}

func TestRateLimitInfiniteAndDeadContext(t *testing.T) {
	r := performance.RateLimit[int, int](echo(), rate.Inf, 0)
	for i := range 100 {
		if _, err := r.Execute(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Execute(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("dead context: %v", err)
	}
}

func TestRateLimitConstructorPanics(t *testing.T) {
	p := primitives.Lift(func(n int) int { return n })
	mustPanic(t, "RateLimit: primitive is nil", func() { performance.RateLimit[int, int](nil, 1, 1) })
	mustPanic(t, "RateLimit: limit must be > 0", func() { performance.RateLimit(p, 0, 1) })
	mustPanic(t, "RateLimit: limit must be > 0", func() { performance.RateLimit(p, -1, 1) })
	mustPanic(t, "RateLimit: burst must be >= 1", func() { performance.RateLimit(p, 10, 0) })
	mustPanic(t, "RateLimit: option 0 is nil", func() { performance.RateLimit(p, 10, 1, nil) })
}
