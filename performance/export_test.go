package performance

// SetClock replaces the clock of the cache's in-process store (nanoseconds
// on any monotonic scale). It panics when the cache uses another store.
func SetClock[In, Out any](c *CachePrimitive[In, Out], now func() int64) {
	s := c.store.(*LRUStore[entry[Out]])
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// SetLRUClock replaces the clock of s.
func SetLRUClock[V any](s *LRUStore[V], now func() int64) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// Waiters returns how many callers wait for the run in flight for key (0
// when none runs).
func Waiters[In, Out any](c *CachePrimitive[In, Out], key string) int {
	c.flight.mu.Lock()
	defer c.flight.mu.Unlock()
	if call := c.flight.calls[key]; call != nil {
		return call.waiters
	}
	return 0
}

// ErrAbandoned is the cause given to a run every caller left.
var ErrAbandoned = errAbandoned
