package performance

import (
	"fmt"
	"time"

	"github.com/ttadev/primitives/internal/seal"
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
	cacheErrors bool
	errorTTL    time.Duration
	store       Store[[]byte]
	name        string
	telemetry   observability.Providers
}

type cacheOptionFunc func(*cacheConfig)

func (cacheOptionFunc) ForCache(seal.Token) {}

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
