package observability

// Span, event, metric and attribute names of the performance package
// beyond those in names.go (SpanCache, EventCacheHit, EventCacheMiss,
// MetricCacheHits, MetricCacheMisses, MetricCacheEvictions, SpanBulkhead,
// SpanRateLimit). Metric names are given as a Prometheus scrape shows them.
const (
	// EventCacheShared marks a cache call that found no entry and waited
	// for a run of the inner primitive started by another caller.
	EventCacheShared = "cache.shared"
	// EventCacheStoreError marks a cache call whose store failed; the call
	// went on as a miss.
	EventCacheStoreError = "cache.store_error"
	// MetricCacheExpirations counts entries dropped because their TTL passed.
	MetricCacheExpirations = "cache_expirations_total"
	// MetricCacheLoads counts runs of the cached primitive.
	MetricCacheLoads = "cache_loads_total"
	// MetricCacheCoalesced counts calls that shared another caller's run.
	MetricCacheCoalesced = "cache_coalesced_total"
	// MetricCacheStoreErrors counts failed store operations.
	MetricCacheStoreErrors = "cache_store_errors_total"
	// MetricCacheSize is the number of entries held, when the store knows.
	MetricCacheSize = "cache_entries"
	// AttrCacheName names a cache in its metrics and spans.
	AttrCacheName = "cache.name"
	// AttrCacheHit is true on a cache span when the value came from the store.
	AttrCacheHit = "cache.hit"

	// MetricBulkheadRejected counts calls a bulkhead refused.
	MetricBulkheadRejected = "bulkhead_rejected_total"
	// MetricRateLimitRejected counts calls a rate limit refused.
	MetricRateLimitRejected = "rate_limit_rejected_total"
	// AttrLimitName names a bulkhead or rate limit in its metrics and spans.
	AttrLimitName = "limit.name"
	// AttrLimitWaitMS is how long a call waited for a bulkhead slot or a
	// rate-limit token, in milliseconds.
	AttrLimitWaitMS = "limit.wait_ms"
)
