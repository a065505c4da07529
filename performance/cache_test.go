package performance_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/performance"
	"github.com/ttadev/primitives/recovery"
)

func TestCacheHitAndMiss(t *testing.T) {
	inner := upper()
	c := performance.Cache(inner)
	closeCache(t, c)
	ctx := context.Background()
	for i := range 3 {
		out, err := c.Execute(ctx, "abc")
		if err != nil || out != "ABC" {
			t.Fatalf("call %d: %q, %v", i, out, err)
		}
	}
	if out, _ := c.Execute(ctx, "xyz"); out != "XYZ" {
		t.Fatalf("second key: %q", out)
	}
	if n := inner.calls.Load(); n != 2 {
		t.Fatalf("inner ran %d times, want 2", n)
	}
	s := c.Stats()
	if s.Hits != 2 || s.Misses != 2 || s.Loads != 2 || s.Coalesced != 0 || s.Size != 2 {
		t.Fatalf("stats %+v", s)
	}
	if r := s.HitRatio(); r != 0.5 {
		t.Fatalf("hit ratio %v", r)
	}
	if (performance.CacheStats{}).HitRatio() != 0 {
		t.Fatal("empty stats hit ratio is not 0")
	}
}

type codeInput struct {
	Code     string
	Language string
	Attempt  int
}

func TestCacheKeyFunc(t *testing.T) {
	inner := &counted[codeInput, string]{f: func(_ context.Context, in codeInput) (string, error) {
		return fmt.Sprintf("ran %s #%d", in.Code, in.Attempt), nil
	}}
	c := performance.CacheBy(inner, func(in codeInput) string { return in.Code })
	closeCache(t, c)
	ctx := context.Background()
	first, _ := c.Execute(ctx, codeInput{Code: "print(1)", Attempt: 1})
	second, _ := c.Execute(ctx, codeInput{Code: "print(1)", Attempt: 2})
	if first != "ran print(1) #1" || second != first {
		t.Fatalf("outputs %q %q: the key function should make attempts share an entry", first, second)
	}
	if inner.calls.Load() != 1 {
		t.Fatalf("inner ran %d times", inner.calls.Load())
	}
	if k, err := c.Key(codeInput{Code: "x"}); err != nil || k != "x" {
		t.Fatalf("Key: %q %v", k, err)
	}
}

func TestCacheDefaultKey(t *testing.T) {
	ctx := context.Background()

	structs := &counted[codeInput, string]{f: func(_ context.Context, in codeInput) (string, error) { return in.Code, nil }}
	cs := performance.Cache(structs)
	closeCache(t, cs)
	a := codeInput{Code: "x", Language: "python", Attempt: 1}
	b := codeInput{Code: "x", Language: "python", Attempt: 2}
	for _, in := range []codeInput{a, a, b, b} {
		if _, err := cs.Execute(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if structs.calls.Load() != 2 {
		t.Fatalf("struct inputs: inner ran %d times, want 2 (one per distinct input)", structs.calls.Load())
	}
	ka, _ := cs.Key(a)
	kb, _ := cs.Key(b)
	if len(ka) != 64 || ka == kb {
		t.Fatalf("struct keys %q %q: want distinct hex SHA-256", ka, kb)
	}

	// Maps: the same contents built in different orders share a key.
	maps := &counted[map[string]int, int]{f: func(_ context.Context, m map[string]int) (int, error) { return len(m), nil }}
	cm := performance.Cache(maps)
	closeCache(t, cm)
	m1 := map[string]int{}
	m2 := map[string]int{}
	for i := range 20 {
		m1[fmt.Sprint("k", i)] = i
		m2[fmt.Sprint("k", 19-i)] = 19 - i
	}
	k1, _ := cm.Key(m1)
	k2, _ := cm.Key(m2)
	if k1 != k2 {
		t.Fatalf("equal maps keyed differently: %s %s", k1, k2)
	}

	// Scalars.
	ci := performance.Cache(primitives.Lift(func(n int) int { return n * n }))
	closeCache(t, ci)
	if k, _ := ci.Key(-42); k != "-42" {
		t.Fatalf("int key %q", k)
	}
	type lang string
	cl := performance.Cache(primitives.Lift(func(l lang) int { return len(l) }))
	closeCache(t, cl)
	if k, _ := cl.Key(lang("go")); k != "go" {
		t.Fatalf("named string key %q", k)
	}
	cf := performance.Cache(primitives.Lift(func(f float64) float64 { return f }))
	closeCache(t, cf)
	if k, _ := cf.Key(0.25); k != "0.25" {
		t.Fatalf("float key %q", k)
	}
	if out, err := cs.Execute(ctx, a); err != nil || out != "x" {
		t.Fatalf("%q %v", out, err)
	}
}

type withHidden struct {
	Code   string
	secret string
}

type withFunc struct {
	Code string
	Done func()
}

type withIgnored struct {
	Code  string
	Trace string `json:"-"`
}

func TestCacheDefaultKeyRejectsUnfaithfulTypes(t *testing.T) {
	mustPanic(t, "field withHidden.secret is unexported", func() {
		performance.Cache(primitives.Lift(func(w withHidden) string { return w.Code + w.secret }))
	})
	mustPanic(t, "use CacheBy with a key function", func() {
		performance.Cache(primitives.Lift(func(w withFunc) string { return w.Code }))
	})
	mustPanic(t, "chan", func() {
		performance.Cache(primitives.Lift(func(ch chan int) int { return cap(ch) }))
	})
	// A key function (CacheBy) makes such types cacheable.
	c := performance.CacheBy(primitives.Lift(func(w withHidden) string { return w.Code }), func(w withHidden) string { return w.Code })
	closeCache(t, c)
	// Fields excluded with json:"-" are excluded from the key on purpose.
	ci := performance.Cache(primitives.Lift(func(w withIgnored) string { return w.Code }))
	closeCache(t, ci)
	k1, _ := ci.Key(withIgnored{Code: "a", Trace: "1"})
	k2, _ := ci.Key(withIgnored{Code: "a", Trace: "2"})
	if k1 != k2 {
		t.Fatal("json:\"-\" field changed the key")
	}
}

func TestCacheConstructorPanics(t *testing.T) {
	p := primitives.Lift(strings.ToUpper)
	mustPanic(t, "Cache: primitive is nil", func() { performance.Cache[string, string](nil) })
	mustPanic(t, "Cache: primitive is nil", func() { performance.Cache(primitives.Func[string, string](nil)) })
	mustPanic(t, "TTL: duration must be > 0", func() { performance.TTL(0) })
	mustPanic(t, "TTL: duration must be > 0", func() { performance.TTL(-time.Second) })
	mustPanic(t, "MaxEntries: n must be > 0", func() { performance.MaxEntries(0) })
	mustPanic(t, "MaxEntries: n must be > 0", func() { performance.MaxEntries(-1) })
	mustPanic(t, "CacheBy: key function is nil", func() { performance.CacheBy(p, nil) })
	mustPanic(t, "CacheErrors: ttl must be > 0", func() { performance.CacheErrors(0) })
	mustPanic(t, "WithStore: store is nil", func() { performance.WithStore(nil) })
	mustPanic(t, "Cache: option 1 is nil", func() { performance.Cache(p, performance.TTL(time.Second), nil) })
	mustPanic(t, "Cache: option 0 is the zero observability.Option", func() { performance.Cache(p, observability.Option{}) })
	mustPanic(t, "Name: name is empty", func() { performance.Name("") })
	mustPanic(t, "NewLRUStore: maxEntries must be > 0", func() { performance.NewLRUStore[int](0) })
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	inner := upper()
	c := performance.Cache(inner, performance.MaxEntries(2))
	closeCache(t, c)
	ctx := context.Background()
	run := func(s string) {
		t.Helper()
		if out, err := c.Execute(ctx, s); err != nil || out != strings.ToUpper(s) {
			t.Fatalf("%s: %q %v", s, out, err)
		}
	}
	run("a")
	run("b")
	run("a") // a is now the most recently used
	run("c") // evicts b
	if s := c.Stats(); s.Evictions != 1 || s.Size != 2 {
		t.Fatalf("stats after eviction %+v", s)
	}
	before := inner.calls.Load()
	run("a")
	if inner.calls.Load() != before {
		t.Fatal("a was evicted; the least recently used entry was b")
	}
	run("b")
	if inner.calls.Load() != before+1 {
		t.Fatal("b was not evicted")
	}
	// Stays bounded under many keys.
	for i := range 100 {
		run(fmt.Sprint("k", i))
	}
	if s := c.Stats(); s.Size != 2 || s.Evictions != 1+1+100 {
		t.Fatalf("stats after 100 keys %+v", s)
	}
}

func TestCacheTTLExpiry(t *testing.T) {
	inner := upper()
	c := performance.Cache(inner, performance.TTL(time.Minute))
	closeCache(t, c)
	clock := &fakeClock{}
	performance.SetClock(c, clock.now)
	ctx := context.Background()
	_, _ = c.Execute(ctx, "a")
	clock.advance(59 * time.Second)
	_, _ = c.Execute(ctx, "a")
	if inner.calls.Load() != 1 {
		t.Fatal("entry expired before its TTL")
	}
	clock.advance(2 * time.Second)
	out, err := c.Execute(ctx, "a")
	if err != nil || out != "A" {
		t.Fatalf("%q %v", out, err)
	}
	if inner.calls.Load() != 2 {
		t.Fatal("entry outlived its TTL")
	}
	if s := c.Stats(); s.Expirations != 1 || s.Hits != 1 || s.Misses != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestLRUStoreSweepsExpiredBeforeEvicting(t *testing.T) {
	ctx := context.Background()
	s := performance.NewLRUStore[int](2)
	clock := &fakeClock{}
	performance.SetLRUClock(s, clock.now)
	_ = s.Set(ctx, "old", 1, time.Second)
	_ = s.Set(ctx, "forever", 2, 0)
	clock.advance(2 * time.Second)
	_ = s.Set(ctx, "new", 3, time.Second)
	st := s.StoreStats()
	if st.Expirations != 1 || st.Evictions != 0 || st.Size != 2 {
		t.Fatalf("stats %+v: the expired entry should make room, not a live one", st)
	}
	if v, ok, _ := s.Get(ctx, "forever"); !ok || v != 2 {
		t.Fatal("entry without TTL lost")
	}
	if err := s.Delete(ctx, "forever"); err != nil || s.Len() != 1 {
		t.Fatalf("Delete: %v, len %d", err, s.Len())
	}
	if err := s.Purge(ctx); err != nil || s.Len() != 0 {
		t.Fatalf("Purge: %v, len %d", err, s.Len())
	}
	_ = s.Close()
	if _, _, err := s.Get(ctx, "new"); !errors.Is(err, performance.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	if err := s.Set(ctx, "x", 1, 0); !errors.Is(err, performance.ErrClosed) {
		t.Fatalf("Set after Close: %v", err)
	}
}

var errBoom = errors.New("boom")

func TestCacheErrorsAreNotCachedByDefault(t *testing.T) {
	inner := &counted[string, string]{f: func(context.Context, string) (string, error) { return "", errBoom }}
	c := performance.Cache(inner)
	closeCache(t, c)
	for range 3 {
		if _, err := c.Execute(context.Background(), "a"); !errors.Is(err, errBoom) {
			t.Fatalf("err %v", err)
		}
	}
	if inner.calls.Load() != 3 {
		t.Fatalf("inner ran %d times; errors must not be cached by default", inner.calls.Load())
	}
	if c.Stats().Size != 0 {
		t.Fatal("error stored")
	}
}

func TestCacheErrorsWhenAsked(t *testing.T) {
	inner := &counted[string, string]{f: func(_ context.Context, s string) (string, error) {
		switch s {
		case "cancelled":
			return "", context.Canceled
		case "late":
			return "", fmt.Errorf("slow: %w", context.DeadlineExceeded)
		case "panic":
			panic("inner exploded")
		}
		return "", errBoom
	}}
	c := performance.Cache(inner, performance.CacheErrors(time.Minute))
	closeCache(t, c)
	clock := &fakeClock{}
	performance.SetClock(c, clock.now)
	ctx := context.Background()
	for range 3 {
		if _, err := c.Execute(ctx, "bad"); !errors.Is(err, errBoom) {
			t.Fatalf("err %v", err)
		}
	}
	if inner.calls.Load() != 1 {
		t.Fatalf("inner ran %d times; the error should be cached", inner.calls.Load())
	}
	clock.advance(2 * time.Minute)
	_, _ = c.Execute(ctx, "bad")
	if inner.calls.Load() != 2 {
		t.Fatal("cached error outlived its TTL")
	}
	for _, in := range []string{"cancelled", "late", "panic"} {
		before := inner.calls.Load()
		_, _ = c.Execute(ctx, in)
		_, _ = c.Execute(ctx, in)
		if inner.calls.Load() != before+2 {
			t.Fatalf("%s: cached, but cancellations, deadlines and panics never are", in)
		}
	}
}

func TestCacheInnerPanicBecomesError(t *testing.T) {
	c := performance.Cache(primitives.Lift(func(s string) string { panic("bad " + s) }))
	closeCache(t, c)
	_, err := c.Execute(context.Background(), "x")
	var pe *primitives.PanicError
	if !errors.As(err, &pe) || pe.Value != "bad x" || len(pe.Stack) == 0 {
		t.Fatalf("err %v", err)
	}
}

func TestCacheKeyFuncPanicBecomesError(t *testing.T) {
	inner := upper()
	c := performance.CacheBy(inner, func(s string) string {
		if s == "" {
			panic(errors.New("empty input"))
		}
		return s
	})
	closeCache(t, c)
	_, err := c.Execute(context.Background(), "")
	var ke *performance.KeyError
	if !errors.As(err, &ke) || !strings.Contains(err.Error(), "empty input") || len(ke.Stack) == 0 {
		t.Fatalf("err %v", err)
	}
	if errors.Unwrap(ke) == nil || recovery.IsRetryable(err) {
		t.Fatalf("a key error wraps the panic error and is not retryable: %v", err)
	}
	if inner.calls.Load() != 0 {
		t.Fatal("inner ran although the key could not be computed")
	}
	if err := c.InvalidateInput(context.Background(), ""); !errors.As(err, &ke) {
		t.Fatalf("InvalidateInput: %v", err)
	}
	// The default JSON key reports values JSON cannot encode the same way.
	cf := performance.Cache(primitives.Lift(func(v []float64) int { return len(v) }))
	closeCache(t, cf)
	nan := []float64{0}
	nan[0] = nan[0] / nan[0]
	if _, err := cf.Execute(context.Background(), nan); !errors.As(err, &ke) {
		t.Fatalf("NaN input: %v", err)
	}
}

func TestCacheInvalidateAndPurge(t *testing.T) {
	inner := upper()
	c := performance.Cache(inner)
	closeCache(t, c)
	ctx := context.Background()
	for _, s := range []string{"a", "b", "c"} {
		_, _ = c.Execute(ctx, s)
	}
	if err := c.Invalidate(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.InvalidateInput(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if c.Stats().Size != 1 {
		t.Fatalf("size %d after two invalidations", c.Stats().Size)
	}
	_, _ = c.Execute(ctx, "a")
	_, _ = c.Execute(ctx, "c")
	if inner.calls.Load() != 4 {
		t.Fatalf("inner ran %d times, want 4 (a again, c cached)", inner.calls.Load())
	}
	if err := c.Purge(ctx); err != nil || c.Stats().Size != 0 {
		t.Fatalf("Purge: %v, size %d", err, c.Stats().Size)
	}
}

func TestCacheInvalidateDuringRunDropsResult(t *testing.T) {
	release := make(chan struct{})
	inner := &counted[string, string]{f: func(_ context.Context, s string) (string, error) {
		<-release
		return s + "!", nil
	}}
	c := performance.Cache(inner)
	closeCache(t, c)
	ctx := context.Background()
	done := make(chan string)
	go func() {
		out, _ := c.Execute(ctx, "k")
		done <- out
	}()
	waitFor(t, "the run to start", func() bool { return performance.Waiters(c, "k") == 1 })
	if err := c.Invalidate(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	close(release)
	if out := <-done; out != "k!" {
		t.Fatalf("caller got %q", out)
	}
	if c.Stats().Size != 0 {
		t.Fatal("a result invalidated while running was stored")
	}
}

func TestCacheClose(t *testing.T) {
	started := make(chan struct{})
	inner := &counted[string, string]{f: func(ctx context.Context, s string) (string, error) {
		close(started)
		<-ctx.Done()
		return "", context.Cause(ctx)
	}}
	c := performance.Cache(inner)
	errc := make(chan error)
	go func() {
		_, err := c.Execute(context.Background(), "k")
		errc <- err
	}()
	<-started
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, performance.ErrClosed) {
		t.Fatalf("run in flight at Close: %v", err)
	}
	if _, err := c.Execute(context.Background(), "k"); !errors.Is(err, performance.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestCacheConcurrentUse(t *testing.T) {
	inner := &counted[int, int]{f: func(_ context.Context, n int) (int, error) { return n * 3, nil }}
	c := performance.Cache(inner, performance.MaxEntries(16), performance.TTL(time.Millisecond))
	closeCache(t, c)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := range 500 {
				n := (g*7 + i) % 40
				out, err := c.Execute(context.Background(), n)
				if err != nil || out != n*3 {
					errs <- fmt.Errorf("%d: %d %v", n, out, err)
					return
				}
				if i%100 == 0 {
					_ = c.Invalidate(context.Background(), fmt.Sprint(n))
					_ = c.Stats()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s := c.Stats()
	if s.Hits+s.Misses != 16*500 || s.Size > 16 || s.Loads != uint64(inner.calls.Load()) {
		t.Fatalf("stats %+v, inner calls %d", s, inner.calls.Load())
	}
}

// A caller that arrives after Invalidate does not get the result of a run
// that started before it: it starts a fresh run, whose result is stored.
func TestCacheCallerAfterInvalidateDoesNotShareOlderRun(t *testing.T) {
	release := make(chan struct{})
	var runs atomic.Int64
	inner := primitives.Func[string, string](func(ctx context.Context, s string) (string, error) {
		n := runs.Add(1)
		if n == 1 {
			select {
			case <-release:
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		return fmt.Sprintf("%s-%d", s, n), nil
	})
	c := performance.Cache[string, string](inner)
	closeCache(t, c)
	ctx := context.Background()
	first := make(chan string, 1)
	go func() {
		out, _ := c.Execute(ctx, "k")
		first <- out
	}()
	waitFor(t, "the first run to start", func() bool { return runs.Load() == 1 })
	if err := c.Invalidate(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	later, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := c.Execute(later, "k")
	if err != nil || out != "k-2" {
		t.Fatalf("caller after Invalidate got %q, %v; want a fresh run's k-2", out, err)
	}
	close(release)
	if out := <-first; out != "k-1" {
		t.Fatalf("first caller got %q", out)
	}
	if out, err := c.Execute(ctx, "k"); err != nil || out != "k-2" || runs.Load() != 2 {
		t.Fatalf("after both runs: %q %v, runs %d; want the fresh result cached", out, err, runs.Load())
	}
}

// Close cancels a run that was invalidated while in flight, like any other.
func TestCacheCloseCancelsInvalidatedRun(t *testing.T) {
	started := make(chan struct{})
	cause := make(chan error, 1)
	inner := primitives.Func[string, string](func(ctx context.Context, s string) (string, error) {
		close(started)
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return "", ctx.Err()
	})
	c := performance.Cache[string, string](inner)
	done := make(chan error, 1)
	go func() {
		_, err := c.Execute(context.Background(), "k")
		done <- err
	}()
	<-started
	if err := c.Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-cause; !errors.Is(err, performance.ErrClosed) {
		t.Fatalf("run cancelled with %v, want ErrClosed", err)
	}
	if err := <-done; err == nil {
		t.Fatal("caller of a cancelled run got no error")
	}
}
