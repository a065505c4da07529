package performance_test

import (
	"go.opentelemetry.io/otel/attribute"

	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ttadev/primitives/performance"
)

// counted wraps f and counts its calls.
type counted[In, Out any] struct {
	calls atomic.Int64
	f     func(context.Context, In) (Out, error)
}

func (c *counted[In, Out]) Execute(ctx context.Context, in In) (Out, error) {
	c.calls.Add(1)
	return c.f(ctx, in)
}

func upper() *counted[string, string] {
	return &counted[string, string]{f: func(_ context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	}}
}

// mustPanic runs f and checks that it panics with a message starting with
// "performance: " and containing want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		v := recover()
		if v == nil {
			t.Fatalf("no panic, want one containing %q", want)
		}
		msg, _ := v.(string)
		if !strings.HasPrefix(msg, "performance") || !strings.Contains(msg, want) {
			t.Fatalf("panic %v, want a message containing %q", v, want)
		}
	}()
	f()
}

// waitFor polls cond until it holds or five seconds pass (a hang guard,
// not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// fakeClock is a settable monotonic clock for the in-process store.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() int64              { return c.ns.Load() }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func closeCache[In, Out any](t *testing.T, c *performance.CachePrimitive[In, Out]) {
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

func attributeKey(k string) attribute.Key { return attribute.Key(k) }
