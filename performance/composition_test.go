package performance_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/ttadev/primitives/performance"
	"github.com/ttadev/primitives/recovery"
)

// Retry honours the rate limit's retry-after instead of its own, much
// longer, backoff.
func TestRetryHonoursRateLimitRetryAfter(t *testing.T) {
	inner := echo()
	limited := performance.RateLimit[int, int](inner, rate.Every(30*time.Millisecond), 1)
	retried := recovery.Retry(limited, recovery.MaxRetries(3),
		recovery.InitialDelay(10*time.Second), recovery.MaxDelay(20*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 3 {
		if out, err := retried.Execute(ctx, i); err != nil || out != i {
			t.Fatalf("call %d: %d %v (a 10 s backoff instead of the ~30 ms retry-after would hit the deadline)", i, out, err)
		}
	}
	if limited.Rejected() == 0 {
		t.Fatal("the limit never refused, so retry-after was not exercised")
	}
}

// A full cache answers through Retry(Cache(...)) without retrying, and a
// cached value is served under a bulkhead.
func TestCacheUnderRetryAndBulkhead(t *testing.T) {
	inner := upper()
	pipeline := recovery.Retry(performance.Bulkhead(performance.Cache(inner), 2), recovery.MaxRetries(2))
	for range 5 {
		if out, err := pipeline.Execute(context.Background(), "go"); err != nil || out != "GO" {
			t.Fatalf("%q %v", out, err)
		}
	}
	if inner.calls.Load() != 1 {
		t.Fatalf("inner ran %d times", inner.calls.Load())
	}
}
