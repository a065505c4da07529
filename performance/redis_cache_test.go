package performance_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/performance"
	"github.com/ttadev/primitives/performance/redisstore"
	"github.com/ttadev/primitives/performance/redisstore/redistest"
)

type result struct {
	Stdout   string `json:"stdout"`
	ExitCode int    `json:"exit_code"`
}

func runCode() *counted[string, result] {
	return &counted[string, result]{f: func(_ context.Context, code string) (result, error) {
		if strings.Contains(code, "raise") {
			return result{}, errors.New("sandbox unavailable")
		}
		return result{Stdout: "ran " + code, ExitCode: 0}, nil
	}}
}

func redisClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Two caches with separate clients to one server behave as two processes
// sharing a cache.
func TestRedisCacheSharedAcrossProcesses(t *testing.T) {
	srv := redistest.Start(t)
	innerA, innerB := runCode(), runCode()
	a := performance.Cache(innerA, performance.TTL(time.Minute),
		performance.WithStore(redisstore.New(redisClient(t, srv.Addr), redisstore.KeyPrefix("exec:"))))
	b := performance.Cache(innerB, performance.TTL(time.Minute),
		performance.WithStore(redisstore.New(redisClient(t, srv.Addr), redisstore.KeyPrefix("exec:"))))
	closeCache(t, a)
	closeCache(t, b)
	ctx := context.Background()

	ra, err := a.Execute(ctx, "print(1)")
	if err != nil || ra.Stdout != "ran print(1)" {
		t.Fatalf("%+v %v", ra, err)
	}
	rb, err := b.Execute(ctx, "print(1)")
	if err != nil || rb != ra {
		t.Fatalf("second process got %+v %v", rb, err)
	}
	if innerA.calls.Load() != 1 || innerB.calls.Load() != 0 {
		t.Fatalf("runs: a %d, b %d; b should have hit a's entry", innerA.calls.Load(), innerB.calls.Load())
	}
	if sb := b.Stats(); sb.Hits != 1 || sb.Size != -1 {
		t.Fatalf("b stats %+v", sb)
	}
	// The value is JSON with the TTL set on the server.
	raw := redisClient(t, srv.Addr)
	if v := raw.Get(ctx, "exec:k:print(1)").Val(); v != `{"v":{"stdout":"ran print(1)","exit_code":0}}` {
		t.Fatalf("stored %s", v)
	}
	if pttl := raw.PTTL(ctx, "exec:k:print(1)").Val(); pttl <= 0 || pttl > time.Minute {
		t.Fatalf("PTTL %s", pttl)
	}
	// Invalidation in one process is seen by the other.
	if err := b.InvalidateInput(ctx, "print(1)"); err != nil {
		t.Fatal(err)
	}
	_, _ = a.Execute(ctx, "print(1)")
	if innerA.calls.Load() != 2 {
		t.Fatal("invalidation by b not seen by a")
	}
	if err := a.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(raw.Keys(ctx, "exec:*").Val()); n != 0 {
		t.Fatalf("%d keys after Purge", n)
	}
}

func TestRedisCacheConcurrentMissesAcrossCaches(t *testing.T) {
	srv := redistest.Start(t)
	inner := runCode()
	c := performance.Cache(inner, performance.WithStore(redisstore.New(redisClient(t, srv.Addr))))
	closeCache(t, c)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if r, err := c.Execute(context.Background(), "x=1"); err != nil || r.Stdout != "ran x=1" {
				t.Errorf("%+v %v", r, err)
			}
		})
	}
	wg.Wait()
	// Single flight holds within a process; later calls hit Redis.
	if inner.calls.Load() != 1 {
		t.Fatalf("inner ran %d times", inner.calls.Load())
	}
}

func TestRedisCacheExpiryAndCachedErrors(t *testing.T) {
	srv := redistest.Start(t)
	inner := runCode()
	c := performance.Cache(inner, performance.TTL(50*time.Millisecond), performance.CacheErrors(time.Minute),
		performance.WithStore(redisstore.New(redisClient(t, srv.Addr))))
	closeCache(t, c)
	ctx := context.Background()
	_, _ = c.Execute(ctx, "a")
	waitFor(t, "the entry to expire on the server", func() bool {
		before := inner.calls.Load()
		_, _ = c.Execute(ctx, "a")
		return inner.calls.Load() > before
	})

	_, err1 := c.Execute(ctx, "raise")
	_, err2 := c.Execute(ctx, "raise")
	var ce *performance.CachedError
	if err1 == nil || !errors.As(err2, &ce) || ce.Message != "sandbox unavailable" {
		t.Fatalf("first %v, cached %v", err1, err2)
	}
}

// A Redis outage does not fail calls: reads count as misses, writes are
// skipped, both are logged and counted.
func TestRedisCacheOutageIsAMiss(t *testing.T) {
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer client.Close()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	inner := runCode()
	c := performance.Cache(inner, performance.WithStore(redisstore.New(client)), observability.WithLogger(logger))
	closeCache(t, c)
	ctx := context.Background()
	if _, err := c.Execute(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	for range 2 {
		r, err := c.Execute(ctx, "a")
		if err != nil || r.Stdout != "ran a" {
			t.Fatalf("during outage: %+v %v", r, err)
		}
	}
	s := c.Stats()
	if inner.calls.Load() != 3 || s.StoreErrors != 4 || s.Misses != 3 {
		t.Fatalf("calls %d, stats %+v", inner.calls.Load(), s)
	}
	if !strings.Contains(logs.String(), "cache store failed") || strings.Contains(logs.String(), "k:a") {
		t.Fatalf("logs %s", logs.String())
	}
	// A cancelled caller gets its own error, not a store error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Execute(cctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
}

// Entries that do not decode into the output type (another program wrote
// them) are misses and are overwritten.
func TestRedisCacheUndecodableEntry(t *testing.T) {
	srv := redistest.Start(t)
	client := redisClient(t, srv.Addr)
	ctx := context.Background()
	client.Set(ctx, redisstore.DefaultKeyPrefix+"k:a", `{"v":"not a result"}`, time.Minute)
	inner := runCode()
	c := performance.Cache(inner, performance.WithStore(redisstore.New(client)))
	closeCache(t, c)
	r, err := c.Execute(ctx, "a")
	if err != nil || r.Stdout != "ran a" || c.Stats().StoreErrors != 1 {
		t.Fatalf("%+v %v %+v", r, err, c.Stats())
	}
	if _, err := c.Execute(ctx, "a"); err != nil || inner.calls.Load() != 1 {
		t.Fatalf("entry not overwritten: %v, calls %d", err, inner.calls.Load())
	}
}
