package redisstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/performance"
	"github.com/ttadev/primitives/performance/redisstore"
	"github.com/ttadev/primitives/performance/redisstore/redistest"
)

// Two caches over separate clients share entries through one Redis server,
// as two processes would.
func Example() {
	srv, err := redistest.StartServer() // a throw-away server; use your own address
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Stop()

	runs := 0
	square := primitives.Lift(func(n int) int { runs++; return n * n })
	newCache := func() *performance.CachePrimitive[int, int] {
		client := redis.NewClient(&redis.Options{Addr: srv.Addr})
		return performance.Cache(square, performance.TTL(time.Hour),
			performance.WithStore(redisstore.New(client, redisstore.KeyPrefix("squares:"))))
	}
	a, b := newCache(), newCache()
	defer a.Close()
	defer b.Close()

	ctx := context.Background()
	x, _ := a.Execute(ctx, 12)
	y, _ := b.Execute(ctx, 12)
	fmt.Println(x, y, "runs:", runs)
	// Output:
	// 144 144 runs: 1
}
