// Package performance holds primitives that make pipelines cheaper and
// steadier: a cache, a concurrency limit and a rate limit. Each wraps a
// primitives.Primitive and is one itself, so they compose with everything
// else in the module:
//
//	cached := performance.CacheBy(exec, func(in CodeInput) string { return in.Code },
//		performance.TTL(time.Hour))
//	defer cached.Close()
//	guarded := performance.Bulkhead(cached, 8, performance.MaxQueue(32))
//	paced := performance.RateLimit(guarded, rate.Every(100*time.Millisecond), 5, performance.Wait())
//
// # Cache
//
// [Cache] keeps outputs by key in a [Store]: by default an in-process
// [LRUStore] (bounded, least recently used eviction, a TTL per entry), or a
// shared store given with [WithStore] (package performance/redisstore keeps
// entries in Redis so several processes share them). Concurrent misses on
// one key share a single run of the inner primitive; a caller whose context
// ends leaves without disturbing the others. Errors are not cached unless
// [CacheErrors] says so. [CachePrimitive.Stats] reports hits, misses,
// loads, coalesced calls, evictions, expirations and size; the same figures
// are exported as OpenTelemetry metrics.
//
// The in-process store is built on golang-lru's simplelru with lazy expiry
// rather than on its expirable package: expirable.NewLRU (v2.0.7) starts a
// cleanup goroutine per cache that can never be stopped, and has one TTL per
// cache where errors need their own. Ours starts no goroutine, so a cache
// needs no stopping beyond [CachePrimitive.Close], and its hit is faster
// (about 40 ns for the store, 75 ns for a whole cache hit, against 62 ns for
// an expirable hit alone on the same machine).
//
// # Limits
//
// [Bulkhead] bounds how many calls run at once, with an optional bounded
// wait queue; [RateLimit] bounds how often calls start, with a token bucket
// from golang.org/x/time/rate. Both fail fast by default with errors that
// recovery.Retry recognises as retryable ([ErrBulkheadFull], and
// *[RateLimitedError], which says when to retry), or wait when asked
// ([MaxQueue], [Wait], [MaxWait]), always honouring the caller's context.
//
// # Conventions
//
// Programmer errors (a nil primitive, a TTL or size <= 0, a nil key
// function, a key function for the wrong input type) panic at construction
// with a message "performance: Constructor: what is wrong". Run-time
// failures are returned errors; a panic inside the inner primitive or the
// key function of a cache becomes an error, never a crash. Every primitive
// of this package is safe for concurrent use.
package performance
