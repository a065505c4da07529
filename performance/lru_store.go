package performance

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// LRUStore is the in-process [Store]: at most maxEntries entries, the least
// recently used one evicted to make room, each entry with its own expiry
// time.
//
// Expiry is lazy: an expired entry is dropped when it is read, or when a
// write finds it at the cold end of the list. There is no background
// goroutine, so an LRUStore needs no stopping (Close only empties it), and
// memory stays bounded by maxEntries.
//
// A hit costs one mutex, one map lookup, a list move and a monotonic clock
// read (about 40-60 ns); it does not allocate. Safe for concurrent use.
type LRUStore[V any] struct {
	mu          sync.Mutex
	lru         *simplelru.LRU[string, lruEntry[V]]
	now         func() int64
	evictions   uint64
	expirations uint64
	closed      bool
}

type lruEntry[V any] struct {
	value   V
	expires int64 // clock reading after which the entry is dead; 0 = never
}

// epoch anchors monotonic clock readings.
var epoch = time.Now()

// monotonicNow returns nanoseconds since epoch on the monotonic clock.
func monotonicNow() int64 { return int64(time.Since(epoch)) }

// NewLRUStore returns an empty LRUStore holding at most maxEntries entries.
// maxEntries <= 0 panics.
func NewLRUStore[V any](maxEntries int) *LRUStore[V] {
	if maxEntries <= 0 {
		panic(fmt.Sprintf("performance: NewLRUStore: maxEntries must be > 0, got %d", maxEntries))
	}
	lru, err := simplelru.NewLRU[string, lruEntry[V]](maxEntries, nil)
	if err != nil {
		panic("performance: NewLRUStore: " + err.Error())
	}
	return &LRUStore[V]{lru: lru, now: monotonicNow}
}

// Get returns the value under key when it is present and not expired. An
// expired entry is removed and counted as an expiration. The error is
// ErrClosed after Close, else nil.
func (s *LRUStore[V]) Get(_ context.Context, key string) (V, bool, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		var zero V
		return zero, false, ErrClosed
	}
	e, ok := s.lru.Get(key)
	if ok && e.expires != 0 && s.now() > e.expires {
		s.lru.Remove(key)
		s.expirations++
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		var zero V
		return zero, false, nil
	}
	return e.value, true, nil
}

// Set stores value under key for ttl (ttl <= 0: until evicted), evicting
// the least recently used entry when the store is full. Before adding, up
// to two expired entries at the cold end are dropped, so expired entries
// make room before live ones are evicted.
func (s *LRUStore[V]) Set(_ context.Context, key string, value V, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	now := s.now()
	for range 2 {
		k, old, ok := s.lru.GetOldest()
		if !ok || old.expires == 0 || now <= old.expires || k == key {
			break
		}
		s.lru.Remove(k)
		s.expirations++
	}
	e := lruEntry[V]{value: value}
	if ttl > 0 {
		e.expires = now + int64(ttl)
	}
	if s.lru.Add(key, e) {
		s.evictions++
	}
	return nil
}

// Delete removes key.
func (s *LRUStore[V]) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.lru.Remove(key)
	return nil
}

// Purge removes every entry. Purged entries are not counted as evictions.
func (s *LRUStore[V]) Purge(_ context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.lru.Purge()
	return nil
}

// Close empties the store; later calls return ErrClosed. Closing twice is
// harmless.
func (s *LRUStore[V]) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.lru.Purge()
	}
	return nil
}

// Len returns the number of entries held, expired ones not yet dropped
// included.
func (s *LRUStore[V]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}

// StoreStats reports size, evictions and expirations.
func (s *LRUStore[V]) StoreStats() StoreStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return StoreStats{Size: s.lru.Len(), Evictions: s.evictions, Expirations: s.expirations}
}
