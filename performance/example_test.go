package performance_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/time/rate"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/performance"
)

type CodeInput struct {
	Code    string
	Attempt int
}

func ExampleCache() {
	runs := 0
	execute := primitives.From(func(_ context.Context, in CodeInput) (string, error) {
		runs++
		return "output of " + in.Code, nil
	})
	cached := performance.CacheBy(execute, func(in CodeInput) string { return in.Code }, performance.TTL(time.Hour))
	defer cached.Close()

	ctx := context.Background()
	for attempt := range 3 {
		out, _ := cached.Execute(ctx, CodeInput{Code: "print(42)", Attempt: attempt})
		fmt.Println(out)
	}
	s := cached.Stats()
	fmt.Printf("runs=%d hits=%d misses=%d ratio=%.2f\n", runs, s.Hits, s.Misses, s.HitRatio())
	// Output:
	// output of print(42)
	// output of print(42)
	// output of print(42)
	// runs=1 hits=2 misses=1 ratio=0.67
}

func ExampleCache_eviction() {
	cached := performance.Cache(primitives.Lift(strings.ToUpper), performance.MaxEntries(2))
	defer cached.Close()
	ctx := context.Background()
	for _, s := range []string{"a", "b", "a", "c"} { // "c" evicts "b", the least recently used
		_, _ = cached.Execute(ctx, s)
	}
	s := cached.Stats()
	fmt.Printf("size=%d evictions=%d\n", s.Size, s.Evictions)
	// Output:
	// size=2 evictions=1
}

func ExampleCacheErrors() {
	calls := 0
	flaky := primitives.From(func(context.Context, string) (string, error) {
		calls++
		return "", errors.New("no such package")
	})
	cached := performance.Cache(flaky, performance.CacheErrors(time.Minute))
	defer cached.Close()
	for range 3 {
		_, err := cached.Execute(context.Background(), "import foo")
		fmt.Println(err)
	}
	fmt.Println("calls:", calls)
	// Output:
	// no such package
	// no such package
	// no such package
	// calls: 1
}

func ExampleBulkhead() {
	release := make(chan struct{})
	started := make(chan struct{})
	slow := primitives.From(func(_ context.Context, s string) (string, error) {
		close(started)
		<-release
		return s, nil
	})
	limited := performance.Bulkhead(slow, 1) // one call at a time, no queue

	done := make(chan string)
	go func() {
		out, _ := limited.Execute(context.Background(), "first")
		done <- out
	}()
	<-started
	_, err := limited.Execute(context.Background(), "second")
	fmt.Println(errors.Is(err, performance.ErrBulkheadFull))
	close(release)
	fmt.Println(<-done)
	// Output:
	// true
	// first
}

func ExampleRateLimit() {
	echo := primitives.Lift(func(s string) string { return s })
	limited := performance.RateLimit(echo, rate.Every(time.Minute), 2) // 2 at once, then 1 a minute

	ctx := context.Background()
	for _, s := range []string{"a", "b", "c"} {
		out, err := limited.Execute(ctx, s)
		var rl *performance.RateLimitedError
		if errors.As(err, &rl) {
			fmt.Printf("%s refused, retry after about %s\n", s, rl.RetryAfter().Round(time.Minute))
			continue
		}
		fmt.Println(out)
	}
	// Output:
	// a
	// b
	// c refused, retry after about 1m0s
}
