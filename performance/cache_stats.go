package performance

import (
	"context"
	"runtime"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/ttadev/primitives/observability"
)

// CacheStats is a snapshot of a cache's counters since it was built.
type CacheStats struct {
	// Hits counts calls answered from the store.
	Hits uint64
	// Misses counts calls that found no live entry (including those that
	// then shared another caller's run).
	Misses uint64
	// Loads counts runs of the inner primitive.
	Loads uint64
	// Coalesced counts calls that missed and waited for a run started by
	// another caller instead of starting their own.
	Coalesced uint64
	// Evictions counts entries dropped to make room (in-process store).
	Evictions uint64
	// Expirations counts entries found or swept after their TTL passed
	// (in-process store; a Redis server expires entries on its own).
	Expirations uint64
	// StoreErrors counts failed store operations.
	StoreErrors uint64
	// Size is the number of entries held, or -1 when the store cannot tell.
	Size int
}

// HitRatio returns Hits / (Hits + Misses), or 0 before the first call.
func (s CacheStats) HitRatio() float64 {
	if total := s.Hits + s.Misses; total > 0 {
		return float64(s.Hits) / float64(total)
	}
	return 0
}

// cacheCounters holds what Stats reports. It is shared by the cache and
// its metrics callback, and references nothing else of the cache.
type cacheCounters struct {
	hits, misses, loads, coalesced, storeErrors atomic.Uint64
	store                                       StatsReporter // nil when the store does not report
}

func (c *cacheCounters) snapshot() CacheStats {
	s := CacheStats{
		Hits:        c.hits.Load(),
		Misses:      c.misses.Load(),
		Loads:       c.loads.Load(),
		Coalesced:   c.coalesced.Load(),
		StoreErrors: c.storeErrors.Load(),
		Size:        -1,
	}
	if c.store != nil {
		st := c.store.StoreStats()
		s.Size, s.Evictions, s.Expirations = st.Size, st.Evictions, st.Expirations
	}
	return s
}

// Stats returns the cache's counters. It is cheap (a few atomic loads and
// one store lock) and safe for concurrent use.
func (c *CachePrimitive[In, Out]) Stats() CacheStats { return c.snapshot() }

// registerMetrics exports the counters as observable instruments, read
// only when a metric reader collects: the hot path pays nothing for
// metrics. Failures to create instruments are logged and leave the cache
// without metrics.
//
// The meter provider holds the callback for as long as it is registered,
// so the callback reads the counters only, never the cache; and a cache
// that becomes unreachable without Close has its callback unregistered
// when it is collected, so a cache built per request or per tenant does
// not leak.
func (c *CachePrimitive[In, Out]) registerMetrics() {
	meter := c.telemetry.Meter()
	counter := func(name, desc string) metric.Int64ObservableCounter {
		inst, err := meter.Int64ObservableCounter(name, metric.WithDescription(desc))
		if err != nil {
			c.telemetry.Log().Warn("cache metric not created", "metric", name, "error", err)
		}
		return inst
	}
	hits := counter(observability.MetricCacheHits, "Cache calls answered from the store.")
	misses := counter(observability.MetricCacheMisses, "Cache calls that found no live entry.")
	loads := counter(observability.MetricCacheLoads, "Runs of the cached primitive.")
	coalesced := counter(observability.MetricCacheCoalesced, "Cache misses that shared another caller's run.")
	evictions := counter(observability.MetricCacheEvictions, "Cache entries evicted to make room.")
	expirations := counter(observability.MetricCacheExpirations, "Cache entries dropped after their TTL.")
	storeErrors := counter(observability.MetricCacheStoreErrors, "Failed cache store operations.")
	size, err := meter.Int64ObservableGauge(observability.MetricCacheSize, metric.WithDescription("Entries held by the cache."))
	if err != nil {
		c.telemetry.Log().Warn("cache metric not created", "metric", observability.MetricCacheSize, "error", err)
	}
	for _, inst := range []metric.Observable{hits, misses, loads, coalesced, evictions, expirations, storeErrors, size} {
		if inst == nil {
			return
		}
	}
	attrs := metric.WithAttributeSet(attribute.NewSet(c.nameAttr))
	counters := c.cacheCounters
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := counters.snapshot()
		o.ObserveInt64(hits, int64(s.Hits), attrs)
		o.ObserveInt64(misses, int64(s.Misses), attrs)
		o.ObserveInt64(loads, int64(s.Loads), attrs)
		o.ObserveInt64(coalesced, int64(s.Coalesced), attrs)
		o.ObserveInt64(storeErrors, int64(s.StoreErrors), attrs)
		if s.Size >= 0 {
			o.ObserveInt64(evictions, int64(s.Evictions), attrs)
			o.ObserveInt64(expirations, int64(s.Expirations), attrs)
			o.ObserveInt64(size, int64(s.Size), attrs)
		}
		return nil
	}, hits, misses, loads, coalesced, evictions, expirations, storeErrors, size)
	if err != nil {
		c.telemetry.Log().Warn("cache metrics not registered", "error", err)
		return
	}
	c.metrics = reg
	runtime.AddCleanup(c, func(reg metric.Registration) { _ = reg.Unregister() }, reg)
}
