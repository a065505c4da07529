package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ttadev/primitives/performance"
)

// DefaultKeyPrefix is the key prefix used without [KeyPrefix].
const DefaultKeyPrefix = "primitives:cache:"

// MaxRawKeyLen is the longest cache key stored as is; longer keys are
// replaced by their SHA-256.
const MaxRawKeyLen = 128

// ErrClosed is returned by a closed Store. It matches performance.ErrClosed,
// as the performance.Store contract asks.
var ErrClosed = fmt.Errorf("redisstore: store closed: %w", performance.ErrClosed)

// Store is a performance.Store[[]byte] kept in Redis. It is safe for
// concurrent use; each operation is one round trip (Purge: one SCAN per
// batch plus one UNLINK per batch).
type Store struct {
	client redis.UniversalClient
	prefix string
	closed atomic.Bool
}

// Option configures [New].
type Option func(*Store)

// KeyPrefix sets the prefix of every key (default [DefaultKeyPrefix]).
// Caches that should share entries use the same prefix; caches of
// different output types must not. An empty prefix panics: Purge deletes by
// prefix and must never reach keys it does not own.
func KeyPrefix(p string) Option {
	if p == "" {
		panic("redisstore: KeyPrefix: prefix is empty")
	}
	return func(s *Store) { s.prefix = p }
}

// New returns a store that keeps entries in client. The client stays the
// caller's: Close does not close it. New panics when client is nil or an
// option is nil.
func New(client redis.UniversalClient, opts ...Option) *Store {
	if client == nil {
		panic("redisstore: New: client is nil")
	}
	s := &Store{client: client, prefix: DefaultKeyPrefix}
	for i, o := range opts {
		if o == nil {
			panic(fmt.Sprintf("redisstore: New: option %d is nil", i))
		}
		o(s)
	}
	return s
}

// RedisKey returns the Redis key under which the cache key key is stored.
func (s *Store) RedisKey(key string) string {
	if len(key) > MaxRawKeyLen {
		sum := sha256.Sum256([]byte(key))
		return s.prefix + "h:" + hex.EncodeToString(sum[:])
	}
	return s.prefix + "k:" + key
}

// Get returns the bytes stored under key; a missing or expired key gives
// ok == false and a nil error.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if s.closed.Load() {
		return nil, false, ErrClosed
	}
	b, err := s.client.Get(ctx, s.RedisKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: get: %w", err)
	}
	return b, true, nil
}

// Set stores value under key with SET, expiring after ttl on the server
// (PX precision; ttl <= 0 stores without expiry).
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if ttl < 0 {
		ttl = 0
	}
	if err := s.client.Set(ctx, s.RedisKey(key), value, ttl).Err(); err != nil {
		return fmt.Errorf("redisstore: set: %w", err)
	}
	return nil
}

// Delete removes key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := s.client.Del(ctx, s.RedisKey(key)).Err(); err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	return nil
}

// Purge deletes every key under the store's prefix, scanning in batches
// (SCAN MATCH prefix* + UNLINK). Keys written meanwhile by other processes
// may survive.
func (s *Store) Purge(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	match := escapeGlob(s.prefix) + "*"
	var cursor uint64
	for {
		keys, next, err := s.client.Scan(ctx, cursor, match, 500).Result()
		if err != nil {
			return fmt.Errorf("redisstore: purge: %w", err)
		}
		if len(keys) > 0 {
			if err := s.client.Unlink(ctx, keys...).Err(); err != nil {
				return fmt.Errorf("redisstore: purge: %w", err)
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// Close marks the store closed; it does not close the client.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

// escapeGlob escapes the characters SCAN MATCH treats specially.
func escapeGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
