// Package redisstore keeps the entries of a performance.Cache in Redis, so
// that several processes (or several caches over separate clients) share
// one cache:
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	cached := performance.Cache(exec, performance.TTL(time.Hour),
//		performance.WithStore(redisstore.New(client, redisstore.KeyPrefix("exec:"))))
//
// Values are stored as the JSON the cache encodes; each key is written with
// SET ... PX so Redis itself expires it. Keys are the prefix followed by
// "k:" and the cache key, or by "h:" and the hex SHA-256 of the cache key
// when that is longer than [MaxRawKeyLen] bytes, so every process computes
// the same Redis key and long inputs (source code) do not make long keys.
//
// The package is separate from performance so that programs that do not use
// Redis do not link its client. Package redistest starts a real
// redis-server for tests.
package redisstore
