package performance

import (
	"fmt"
	"time"

	"github.com/ttadev/primitives/observability"
)

// Defaults of [Cache].
const (
	DefaultTTL        = time.Hour
	DefaultMaxEntries = 10_000
)

type cacheConfig struct {
	ttl         time.Duration
	maxEntries  int
	keyFunc     any // func(In) string, checked against In by Cache
	cacheErrors bool
	errorTTL    time.Duration
	store       Store[[]byte]
	name        string
	telemetry   observability.Providers
}

type cacheOptionFunc func(*cacheConfig)

func (f cacheOptionFunc) applyCache(c *cacheConfig) { f(c) }

// TTL sets how long an entry lives (default [DefaultTTL], one hour). A TTL
// <= 0 panics.
func TTL(d time.Duration) CacheOption {
	if d <= 0 {
		panic(fmt.Sprintf("performance: TTL: duration must be > 0, got %s", d))
	}
	return cacheOptionFunc(func(c *cacheConfig) { c.ttl = d })
}

// MaxEntries bounds the in-process store (default [DefaultMaxEntries]);
// the least recently used entry is evicted to make room. It has no effect
// with [WithStore]. n <= 0 panics.
func MaxEntries(n int) CacheOption {
	if n <= 0 {
		panic(fmt.Sprintf("performance: MaxEntries: n must be > 0, got %d", n))
	}
	return cacheOptionFunc(func(c *cacheConfig) { c.maxEntries = n })
}

// KeyFunc sets how an input becomes a cache key (TTA.dev's key_fn), for
// instance func(in CodeInput) string { return in.Code }. Its input type
// must be the cache's input type: [Cache] panics otherwise. A nil f
// panics.
//
// A key function that returns a string it already holds (a field of the
// input) costs nothing; see [Cache] for the default key.
func KeyFunc[In any](f func(In) string) CacheOption {
	if f == nil {
		panic("performance: KeyFunc: function is nil")
	}
	return cacheOptionFunc(func(c *cacheConfig) { c.keyFunc = f })
}

// CacheErrors makes the cache keep errors of the inner primitive for ttl,
// so a failing input is not retried at every call. Context cancellations,
// deadlines and panics are never cached. Off by default. ttl <= 0 panics.
func CacheErrors(ttl time.Duration) CacheOption {
	if ttl <= 0 {
		panic(fmt.Sprintf("performance: CacheErrors: ttl must be > 0, got %s", ttl))
	}
	return cacheOptionFunc(func(c *cacheConfig) { c.cacheErrors = true; c.errorTTL = ttl })
}

// WithStore keeps entries in s instead of the in-process LRU, encoded as
// JSON ({"v": output} or {"e": "error message"}), so the output type must
// survive a JSON round trip. Use it with a shared store (see package
// performance/redisstore) so several processes share one cache. The cache
// takes ownership: its Close closes s. A nil s panics.
func WithStore(s Store[[]byte]) CacheOption {
	if s == nil {
		panic("performance: WithStore: store is nil")
	}
	return cacheOptionFunc(func(c *cacheConfig) { c.store = s })
}
