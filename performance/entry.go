package performance

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// entry is what a cache stores: the inner primitive's output, or its error
// when errors are cached ([CacheErrors]).
type entry[Out any] struct {
	value Out
	err   error
}

// CachedError stands for an error that was cached in a shared store and
// read back: only its message survives the trip through JSON. In-process
// stores return the original error value instead.
type CachedError struct {
	Message string
}

func (e *CachedError) Error() string { return e.Message }

// wireEntry is the JSON form of an entry in a byte store:
// {"v": <value>} or {"e": "<error message>"}.
type wireEntry[Out any] struct {
	Value Out     `json:"v"`
	Err   *string `json:"e,omitempty"`
}

// codecStore adapts a Store[[]byte] (Redis) to the typed store a cache
// uses, encoding entries as JSON.
type codecStore[Out any] struct {
	bytes Store[[]byte]
}

// errDecode marks an entry a byte store returned that does not decode into
// the cache's output type (written by an older version of the program, or
// by another cache sharing the prefix).
var errDecode = errors.New("performance: cached entry does not decode")

func (s codecStore[Out]) Get(ctx context.Context, key string) (entry[Out], bool, error) {
	b, ok, err := s.bytes.Get(ctx, key)
	if err != nil || !ok {
		return entry[Out]{}, false, err
	}
	var w wireEntry[Out]
	if err := json.Unmarshal(b, &w); err != nil {
		return entry[Out]{}, false, errors.Join(errDecode, err)
	}
	if w.Err != nil {
		return entry[Out]{err: &CachedError{Message: *w.Err}}, true, nil
	}
	return entry[Out]{value: w.Value}, true, nil
}

func (s codecStore[Out]) Set(ctx context.Context, key string, e entry[Out], ttl time.Duration) error {
	w := wireEntry[Out]{Value: e.value}
	if e.err != nil {
		msg := e.err.Error()
		w = wireEntry[Out]{Err: &msg}
	}
	b, err := json.Marshal(w)
	if err != nil {
		return err
	}
	return s.bytes.Set(ctx, key, b, ttl)
}

func (s codecStore[Out]) Delete(ctx context.Context, key string) error {
	return s.bytes.Delete(ctx, key)
}

func (s codecStore[Out]) Purge(ctx context.Context) error { return s.bytes.Purge(ctx) }

func (s codecStore[Out]) Close() error { return s.bytes.Close() }

func (s codecStore[Out]) StoreStats() StoreStats {
	if r, ok := s.bytes.(StatsReporter); ok {
		return r.StoreStats()
	}
	return StoreStats{Size: -1}
}
