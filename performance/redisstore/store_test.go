package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ttadev/primitives/performance"
	"github.com/ttadev/primitives/performance/redisstore"
	"github.com/ttadev/primitives/performance/redisstore/redistest"
)

var _ performance.Store[[]byte] = (*redisstore.Store)(nil)

func newClient(t *testing.T) *redis.Client {
	t.Helper()
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func TestStoreRoundTrip(t *testing.T) {
	client := newClient(t)
	ctx := context.Background()
	s := redisstore.New(client, redisstore.KeyPrefix("t1:"))
	if _, ok, err := s.Get(ctx, "a"); ok || err != nil {
		t.Fatalf("missing key: ok=%v err=%v", ok, err)
	}
	if err := s.Set(ctx, "a", []byte(`{"v":1}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	b, ok, err := s.Get(ctx, "a")
	if !ok || err != nil || string(b) != `{"v":1}` {
		t.Fatalf("%q %v %v", b, ok, err)
	}
	// The key lives under the prefix, with its TTL on the server.
	if got, _ := client.Get(ctx, "t1:k:a").Result(); got != `{"v":1}` {
		t.Fatalf("raw value %q", got)
	}
	if pttl := client.PTTL(ctx, "t1:k:a").Val(); pttl <= 0 || pttl > time.Minute {
		t.Fatalf("PTTL %s", pttl)
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, "a"); ok {
		t.Fatal("deleted key still there")
	}
	// No TTL: stored without expiry.
	_ = s.Set(ctx, "p", []byte("x"), 0)
	if pttl := client.PTTL(ctx, "t1:k:p").Val(); pttl != -1 {
		t.Fatalf("PTTL without ttl %s", pttl)
	}
}

func TestStoreExpiresOnServer(t *testing.T) {
	client := newClient(t)
	ctx := context.Background()
	s := redisstore.New(client)
	if err := s.Set(ctx, "short", []byte("x"), 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server to expire the key", func() bool {
		_, ok, err := s.Get(ctx, "short")
		return !ok && err == nil
	})
}

func TestStoreHashesLongKeys(t *testing.T) {
	client := newClient(t)
	ctx := context.Background()
	s := redisstore.New(client, redisstore.KeyPrefix("t2:"))
	long := strings.Repeat("print('hello')\n", 50)
	rk := s.RedisKey(long)
	if !strings.HasPrefix(rk, "t2:h:") || len(rk) != len("t2:h:")+64 {
		t.Fatalf("redis key %q", rk)
	}
	_ = s.Set(ctx, long, []byte("v"), time.Minute)
	if b, ok, _ := s.Get(ctx, long); !ok || string(b) != "v" {
		t.Fatal("long key not found")
	}
	if n := client.Exists(ctx, rk).Val(); n != 1 {
		t.Fatal("hashed key not on the server")
	}
}

func TestStorePurgeOnlyOwnPrefix(t *testing.T) {
	client := newClient(t)
	ctx := context.Background()
	// A prefix with glob characters must match literally.
	s := redisstore.New(client, redisstore.KeyPrefix("app[1]*:"))
	for _, k := range []string{"a", "b", "c"} {
		_ = s.Set(ctx, k, []byte(k), time.Minute)
	}
	client.Set(ctx, "app1x:k:a", "not ours", 0)
	client.Set(ctx, "other", "not ours", 0)
	for i := range 1200 { // more than one SCAN batch
		_ = s.Set(ctx, "bulk"+string(rune('a'+i%26))+strings.Repeat("x", i/26), []byte("v"), time.Minute)
	}
	if err := s.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	keys := client.Keys(ctx, "*").Val()
	if len(keys) != 2 {
		t.Fatalf("keys after purge: %v", keys)
	}
}

func TestStoreErrorsAndClose(t *testing.T) {
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer client.Close()
	ctx := context.Background()
	s := redisstore.New(client)
	srv.Stop()
	if _, _, err := s.Get(ctx, "a"); err == nil || !strings.Contains(err.Error(), "redisstore: get") {
		t.Fatalf("Get with the server gone: %v", err)
	}
	if err := s.Set(ctx, "a", []byte("x"), time.Second); err == nil {
		t.Fatal("Set with the server gone succeeded")
	}
	_ = s.Close()
	if _, _, err := s.Get(ctx, "a"); !errors.Is(err, redisstore.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	// The Store contract: calls after Close return performance.ErrClosed.
	if err := s.Set(ctx, "a", []byte("x"), time.Second); !errors.Is(err, performance.ErrClosed) {
		t.Fatalf("Set after Close: %v, want it to match performance.ErrClosed", err)
	}
}

func TestNewPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"New: client is nil":   func() { redisstore.New(nil) },
		"KeyPrefix: prefix is": func() { redisstore.KeyPrefix("") },
		"New: option 0 is nil": func() { redisstore.New(redis.NewClient(&redis.Options{}), nil) },
	} {
		func() {
			defer func() {
				v := recover()
				if msg, _ := v.(string); !strings.HasPrefix(msg, "redisstore: ") || !strings.Contains(msg, name) {
					t.Errorf("panic %v, want %q", v, name)
				}
			}()
			f()
		}()
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
