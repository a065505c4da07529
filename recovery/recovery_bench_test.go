package recovery_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
)

// trivial is the "work" of every benchmark: as cheap as a primitive gets,
// so the figures show what each wrapper adds.
var trivial = primitives.Func[int, int](func(_ context.Context, n int) (int, error) { return n + 1, nil })

var sink int

func BenchmarkDirectCall(b *testing.B) {
	ctx := context.Background()
	var p primitives.Primitive[int, int] = trivial
	runHappyPath(b, ctx, p)
}

func BenchmarkRetryHappyPath(b *testing.B) {
	ctx := context.Background()
	var p primitives.Primitive[int, int] = recovery.Retry(trivial, recovery.MaxRetries(3), recovery.Exponential())
	runHappyPath(b, ctx, p)
}

func BenchmarkFallbackHappyPath(b *testing.B) {
	ctx := context.Background()
	var p primitives.Primitive[int, int] = recovery.Fallback(trivial, trivial)
	runHappyPath(b, ctx, p)
}

func BenchmarkTimeoutHappyPath(b *testing.B) {
	ctx := context.Background()
	var p primitives.Primitive[int, int] = recovery.Timeout(trivial, time.Second)
	runHappyPath(b, ctx, p)
}

func BenchmarkTimeoutAbandonHappyPath(b *testing.B) {
	ctx := context.Background()
	var p primitives.Primitive[int, int] = recovery.Timeout(trivial, time.Second, recovery.AbandonOnDeadline())
	runHappyPath(b, ctx, p)
}

// BenchmarkContextWithTimeoutFloor is the floor Timeout cannot go under:
// creating and cancelling a context with a deadline around the call.
func BenchmarkContextWithTimeoutFloor(b *testing.B) {
	ctx := context.Background()
	var p primitives.Primitive[int, int] = trivial
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		out, err := p.Execute(tctx, i)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		sink = out
	}
}

func BenchmarkRetryTimeoutFallbackHappyPath(b *testing.B) {
	ctx := context.Background()
	var p primitives.Primitive[int, int] = recovery.Retry(
		recovery.Timeout(recovery.Fallback(trivial, trivial), time.Second))
	runHappyPath(b, ctx, p)
}

func BenchmarkCircuitBreakerClosed(b *testing.B) {
	ctx := context.Background()
	var p primitives.Primitive[int, int] = recovery.CircuitBreaker(trivial)
	runHappyPath(b, ctx, p)
}

func BenchmarkCircuitBreakerClosedParallel(b *testing.B) {
	p := recovery.CircuitBreaker(trivial)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := p.Execute(ctx, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCircuitBreakerOpenFailFast(b *testing.B) {
	ctx := context.Background()
	failing := primitives.Func[int, int](func(context.Context, int) (int, error) { return 0, errBench })
	p := recovery.CircuitBreaker(failing, recovery.FailureThreshold(1), recovery.RecoveryTimeout(time.Hour),
		observability.WithLogger(slog.New(slog.DiscardHandler)))
	_, _ = p.Execute(ctx, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Execute(ctx, 0); err == nil {
			b.Fatal("circuit let a call through")
		}
	}
}

func BenchmarkSagaThreeSteps(b *testing.B) {
	ctx := context.Background()
	p := recovery.Saga(recovery.Step(trivial, trivial), recovery.Step(trivial, trivial), recovery.Step(trivial, nil))
	runHappyPath(b, ctx, p)
}

// runHappyPath measures p on inputs that succeed.
func runHappyPath(b *testing.B, ctx context.Context, p primitives.Primitive[int, int]) {
	b.Helper()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		out, err := p.Execute(ctx, i)
		if err != nil {
			b.Fatal(err)
		}
		sink = out
	}
}

// failsTwice fails its first two calls of every three, then succeeds.
type failsTwice struct{ n int }

func (f *failsTwice) Execute(_ context.Context, n int) (int, error) {
	f.n++
	if f.n%3 != 0 {
		return 0, errBench
	}
	return n, nil
}

// BenchmarkRetryTwoFailuresZeroDelay is the cost of the retry path itself:
// two failed attempts retried at once (zero delay), then a success.
func BenchmarkRetryTwoFailuresZeroDelay(b *testing.B) {
	ctx := context.Background()
	p := recovery.Retry[int, int](&failsTwice{}, recovery.InitialDelay(0))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Execute(ctx, 1); err != nil {
			b.Fatal(err)
		}
	}
}
