package performance

import (
	"context"
	"errors"
	"time"
)

// Store is where a [Cache] keeps its entries. Two implementations come with
// the module: [LRUStore], the in-process default (bounded, least recently
// used eviction, per-entry TTL), and the Redis store of package
// performance/redisstore, which lets several processes share one cache.
// Any other shared store (memcached, a database) plugs in by implementing
// Store[[]byte] and passing it to [WithStore].
//
// Implementations must be safe for concurrent use.
type Store[V any] interface {
	// Get returns the live value stored under key. A missing or expired
	// key returns ok == false and a nil error; err reports a failure of
	// the store itself.
	Get(ctx context.Context, key string) (value V, ok bool, err error)
	// Set stores value under key for ttl (ttl <= 0: no expiry, the entry
	// lives until evicted or deleted).
	Set(ctx context.Context, key string, value V, ttl time.Duration) error
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Purge removes every entry this store holds.
	Purge(ctx context.Context) error
	// Close releases the store's resources. Calls after Close return
	// [ErrClosed].
	Close() error
}

// StoreStats is what a store knows about its own contents.
type StoreStats struct {
	// Size is the number of entries held, or -1 when the store cannot tell
	// cheaply (a shared Redis store).
	Size int
	// Evictions counts entries dropped to make room.
	Evictions uint64
	// Expirations counts entries dropped because their TTL had passed.
	Expirations uint64
}

// StatsReporter is implemented by stores that count their entries,
// evictions and expirations; [CachePrimitive.Stats] reports those figures
// when its store implements it.
type StatsReporter interface {
	StoreStats() StoreStats
}

// ErrClosed is returned by a closed cache or store.
var ErrClosed = errors.New("performance: cache closed")
