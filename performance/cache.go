package performance

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"reflect"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

// CachePrimitive remembers the outputs of an inner primitive by key. Build
// it with [Cache]. It is safe for concurrent use.
type CachePrimitive[In, Out any] struct {
	inner       primitives.Primitive[In, Out]
	key         func(In) string
	store       Store[entry[Out]]
	ttl         time.Duration
	cacheErrors bool
	errorTTL    time.Duration
	name        string
	telemetry   observability.Providers
	nameAttr    attribute.KeyValue

	flight flightGroup[Out]

	// The counters live apart from the cache, so that the metrics
	// callback, which the meter provider holds, does not keep the cache
	// alive (see registerMetrics).
	*cacheCounters

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	metrics   metric.Registration
}

// Cache returns a primitive that runs p once per key and answers later
// calls with the same key from a store until the entry's TTL passes:
//
//	cached := performance.Cache(exec, performance.TTL(time.Hour))
//	defer cached.Close()
//
// Behaviour:
//   - Context: a caller whose context is already done gets its cause at
//     once; nothing is looked up or run.
//   - Store: by default an in-process [LRUStore] of [DefaultMaxEntries]
//     entries (see [MaxEntries]) with lazy expiry and no background
//     goroutine; [WithStore] selects a shared store such as Redis.
//   - Key: the key function given to [CacheBy]; with Cache a string input
//     is its own key, numbers and booleans are formatted, and other inputs
//     are keyed by the SHA-256 of their JSON encoding, made through a
//     pointer so that MarshalJSON and MarshalText methods with pointer
//     receivers are used (Cache panics if In has unexported fields without
//     such a method, funcs or channels, which JSON cannot represent
//     faithfully).
//   - Single flight: concurrent calls that miss on the same key share one
//     run of p. A caller whose context ends leaves at once with its
//     context's error and does not disturb the others; the run is given
//     context.WithoutCancel of the first caller's context (it keeps its
//     values, not its deadline) and is cancelled when every waiting caller
//     has left. Callers of a shared run, like cache hits, receive the same
//     Out value: treat outputs as read-only.
//   - Errors of p are returned and not cached, unless [CacheErrors] is set;
//     even then, the result of a run every caller abandoned (or that Close
//     cancelled) is never kept, whatever error it returned. p runs on a
//     goroutine of its own, so a panic of p becomes a *primitives.PanicError
//     (not retryable, never cached) and a panic of the key function a
//     *[KeyError], never a crash.
//   - Store failures (a Redis outage) never fail a call: a failed read is
//     treated as a miss, a failed write leaves the value uncached; both are
//     logged at Warn and counted in [CacheStats.StoreErrors].
//   - Telemetry: when tracing is installed each call is a span "cache" with
//     the event "cache.hit", "cache.miss" or "cache.shared" and a hash of
//     the key (never the key itself, which may hold code or secrets); hits,
//     misses, loads, evictions, expirations and size are exported as
//     observable metrics (cache_hits_total, ...) with a "cache.name"
//     attribute (see [Name]).
//
// A hit with a key function that returns a string it holds costs about
// 60-100 ns and does not allocate.
//
// Call Close when the cache is no longer needed: it unregisters the metric
// callbacks, cancels runs in flight and closes the store. A cache dropped
// without Close is still garbage-collected (its metric callback is
// unregistered then), but its store is not closed.
//
// Cache panics when p is nil, or when an option is nil or invalid.
//
// Invariants (docs/architecture.md): all hold. A done context returns its
// cause before any lookup; a run every caller abandoned is cancelled and
// its result never kept, whatever its error's shape; p runs on a goroutine
// of its own, so a panic comes back as a *primitives.PanicError, never
// cached nor retried; a cache dropped without Close is collected.
func Cache[In, Out any](p primitives.Primitive[In, Out], opts ...CacheOption) *CachePrimitive[In, Out] {
	return newCache(p, nil, "Cache", opts)
}

// CacheBy is [Cache] with the key computed by key (TTA.dev's key_fn), for
// instance the code of a code-execution input:
//
//	cached := performance.CacheBy(exec, func(in sandbox.CodeInput) string { return in.Code },
//		performance.TTL(time.Hour))
//
// The compiler checks that key takes the cache's input type. A key function
// that returns a string it already holds (a field of the input) costs
// nothing. Inputs with equal keys share one entry: the key must tell apart
// every pair of inputs whose outputs differ. It panics when p or key is
// nil, or when an option is nil or invalid.
func CacheBy[In, Out any](p primitives.Primitive[In, Out], key func(In) string, opts ...CacheOption) *CachePrimitive[In, Out] {
	if key == nil {
		panic("performance: CacheBy: key function is nil")
	}
	return newCache(p, key, "CacheBy", opts)
}

func newCache[In, Out any](p primitives.Primitive[In, Out], key func(In) string, constructor string, opts []CacheOption) *CachePrimitive[In, Out] {
	if primitives.IsNil(p) {
		panic("performance: " + constructor + ": primitive is nil")
	}
	cfg := cacheConfig{ttl: DefaultTTL, maxEntries: DefaultMaxEntries, name: "cache"}
	applyOptions(constructor, opts, &cfg.telemetry, &cfg.name, func(o CacheOption) bool {
		co, ok := o.(cacheOptionFunc)
		if ok {
			co(&cfg)
		}
		return ok
	})
	c := &CachePrimitive[In, Out]{
		inner:       p,
		ttl:         cfg.ttl,
		cacheErrors: cfg.cacheErrors,
		errorTTL:    cfg.errorTTL,
		name:        cfg.name,
		telemetry:   cfg.telemetry,
		nameAttr:    attribute.String(observability.AttrCacheName, cfg.name),
	}
	c.key = key
	if key == nil {
		c.key = defaultKeyFunc[In](constructor)
	}
	c.cacheCounters = &cacheCounters{}
	if cfg.store != nil {
		if reflect.ValueOf(cfg.store).Kind() == reflect.Pointer && reflect.ValueOf(cfg.store).IsNil() {
			panic("performance: " + constructor + ": WithStore: store is a nil pointer")
		}
		c.store = codecStore[Out]{bytes: cfg.store}
	} else {
		c.store = NewLRUStore[entry[Out]](cfg.maxEntries)
	}
	c.cacheCounters.store, _ = c.store.(StatsReporter)
	c.registerMetrics()
	return c
}

// Execute returns the cached output for in's key, or runs the inner
// primitive once for all concurrent callers with that key and caches its
// output. After Close it returns [ErrClosed].
func (c *CachePrimitive[In, Out]) Execute(ctx context.Context, in In) (Out, error) {
	if c.closed.Load() {
		var zero Out
		return zero, ErrClosed
	}
	if ctx.Err() != nil {
		var zero Out
		return zero, context.Cause(ctx)
	}
	key, err := c.keyOf(in)
	if err != nil {
		var zero Out
		return zero, err
	}
	if _, traced := c.telemetry.Tracer(); !traced {
		return c.execute(ctx, key, in, nil)
	}
	ctx, span := c.telemetry.StartSpan(ctx, observability.SpanCache,
		c.nameAttr, attribute.String(observability.AttrCacheKeyHashed, keyHash(key)))
	out, err := c.execute(ctx, key, in, span)
	observability.End(span, err)
	return out, err
}

func (c *CachePrimitive[In, Out]) execute(ctx context.Context, key string, in In, span trace.Span) (Out, error) {
	e, ok, err := c.store.Get(ctx, key)
	if err != nil {
		var zero Out
		if ctx.Err() != nil {
			return zero, context.Cause(ctx)
		}
		if c.closed.Load() {
			return zero, ErrClosed
		}
		c.storeFailed(ctx, span, "get", key, err)
	}
	if ok {
		c.hits.Add(1)
		if span != nil {
			span.AddEvent(observability.EventCacheHit)
			span.SetAttributes(attribute.Bool(observability.AttrCacheHit, true))
		}
		return e.value, e.err
	}
	c.misses.Add(1)
	call, runCtx, leader := c.flight.join(ctx, key)
	if call == nil {
		var zero Out
		return zero, ErrClosed
	}
	if span != nil {
		span.SetAttributes(attribute.Bool(observability.AttrCacheHit, false))
		if leader {
			span.AddEvent(observability.EventCacheMiss)
		} else {
			span.AddEvent(observability.EventCacheShared)
		}
	}
	if leader {
		go c.load(runCtx, key, in, call)
	} else {
		c.coalesced.Add(1)
	}
	select {
	case <-call.done:
		return call.out, call.err
	case <-ctx.Done():
		c.flight.leave(key, call)
		var zero Out
		return zero, context.Cause(ctx)
	}
}

// load runs the inner primitive for a flight call, stores the result and
// wakes the waiters.
func (c *CachePrimitive[In, Out]) load(ctx context.Context, key string, in In, call *flightCall[Out]) {
	defer call.cancel(nil)
	// A caller may miss just before a run for the same key stores its
	// result and join just after that run has finished: look again before
	// running, so a finished run's result is used instead of running twice.
	if e, ok, err := c.store.Get(ctx, key); err == nil && ok {
		call.out, call.err = e.value, e.err
		c.flight.finish(key, call)
		close(call.done)
		return
	}
	c.loads.Add(1)
	out, err := c.runInner(ctx, in)
	call.out, call.err = out, err

	var ttl time.Duration
	switch {
	case ctx.Err() != nil:
		// Every caller left, or the cache closed, while the run went on:
		// whatever it returned (often its context's cause, in any shape)
		// answers nobody and is not kept.
	case err == nil:
		ttl = c.ttl
	case c.cacheErrors && cacheableError(err):
		ttl = c.errorTTL
	}
	stored := false
	if ttl > 0 && c.flight.keep(call) {
		if serr := c.store.Set(ctx, key, entry[Out]{value: out, err: err}, ttl); serr != nil {
			if !c.closed.Load() {
				c.storeFailed(ctx, nil, "set", key, serr)
			}
		} else {
			stored = true
		}
	}
	if !c.flight.finish(key, call) && stored {
		// Invalidated while running: drop what was just stored.
		if derr := c.store.Delete(ctx, key); derr != nil && !c.closed.Load() {
			c.storeFailed(ctx, nil, "delete", key, derr)
		}
	}
	close(call.done)
}

func (c *CachePrimitive[In, Out]) runInner(ctx context.Context, in In) (out Out, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &primitives.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return c.inner.Execute(ctx, in)
}

// cacheableError reports whether an error of the inner primitive may be
// cached under CacheErrors: cancellations, deadlines and panics may not.
func cacheableError(err error) bool {
	var pe *primitives.PanicError
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &pe)
}

func (c *CachePrimitive[In, Out]) keyOf(in In) (key string, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &KeyError{Value: v, Stack: debug.Stack()}
		}
	}()
	return c.key(in), nil
}

func (c *CachePrimitive[In, Out]) storeFailed(ctx context.Context, span trace.Span, op, key string, err error) {
	c.storeErrors.Add(1)
	if span != nil {
		span.AddEvent(observability.EventCacheStoreError, trace.WithAttributes(attribute.String("cache.store_op", op)))
	}
	observability.Log(ctx, c.telemetry.Log(), slog.LevelWarn, "cache store failed; continuing without it",
		slog.String(observability.AttrCacheName, c.name),
		slog.String("cache.store_op", op),
		slog.String(observability.AttrCacheKeyHashed, keyHash(key)),
		slog.String("error", err.Error()))
}

// keyHash returns a short, stable, non-reversible label of a key for spans
// and logs: the FNV-1a 64-bit hash in hex.
func keyHash(key string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return strconv.FormatUint(h.Sum64(), 16)
}

// Key returns the cache key of in, as the cache computes it. A panicking
// key function gives a *[KeyError].
func (c *CachePrimitive[In, Out]) Key(in In) (string, error) { return c.keyOf(in) }

// Invalidate removes the entry stored under key. A run of the inner
// primitive in flight for key still answers the callers already waiting
// for it, but its result is not stored, and later callers start a fresh
// run.
func (c *CachePrimitive[In, Out]) Invalidate(ctx context.Context, key string) error {
	c.flight.invalidate(key)
	return c.store.Delete(ctx, key)
}

// InvalidateInput removes the entry of in (see [CachePrimitive.Invalidate]).
func (c *CachePrimitive[In, Out]) InvalidateInput(ctx context.Context, in In) error {
	key, err := c.keyOf(in)
	if err != nil {
		return err
	}
	return c.Invalidate(ctx, key)
}

// Purge removes every entry of the store; results of runs in flight are
// not stored, and later callers start fresh runs. With a shared store this empties it for every process.
func (c *CachePrimitive[In, Out]) Purge(ctx context.Context) error {
	c.flight.invalidateAll()
	return c.store.Purge(ctx)
}

// Close stops the cache: later calls to Execute return [ErrClosed], runs
// in flight are cancelled (their callers get the inner primitive's
// cancellation error), the metric callbacks are unregistered and the store
// is closed. The cache starts no background goroutine of its own beyond
// the runs in flight. Close is idempotent and returns the first error.
func (c *CachePrimitive[In, Out]) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.flight.cancelAll(ErrClosed)
		var errs []error
		if c.metrics != nil {
			errs = append(errs, c.metrics.Unregister())
		}
		errs = append(errs, c.store.Close())
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}
