package primitives_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	p "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

// Each benchmark family has a Direct baseline that calls the same step
// functions by hand in the same run, so the difference is what the
// combinator adds.

func inc(_ context.Context, n int) (int, error) { return n + 1, nil }

var sink int

func BenchmarkThen(b *testing.B) {
	ctx := context.Background()
	b.Run("Direct2", func(b *testing.B) {
		f := p.Func[int, int](inc)
		var s p.Primitive[int, int] = f
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			x, _ := s.Execute(ctx, i)
			x, _ = s.Execute(ctx, x)
			sink = x
		}
	})
	b.Run("Then2", func(b *testing.B) {
		chain := p.Then[int, int, int](p.Func[int, int](inc), p.Func[int, int](inc))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			x, _ := chain.Execute(ctx, i)
			sink = x
		}
	})
}

func BenchmarkPipe4(b *testing.B) {
	ctx := context.Background()
	f := p.Func[int, int](inc)
	b.Run("Direct4", func(b *testing.B) {
		var s p.Primitive[int, int] = f
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			x, _ := s.Execute(ctx, i)
			x, _ = s.Execute(ctx, x)
			x, _ = s.Execute(ctx, x)
			x, _ = s.Execute(ctx, x)
			sink = x
		}
	})
	b.Run("Pipe4", func(b *testing.B) {
		chain := p.Pipe4[int, int, int, int, int](f, f, f, f)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			x, _ := chain.Execute(ctx, i)
			sink = x
		}
	})
}

func BenchmarkSequential5(b *testing.B) {
	ctx := context.Background()
	f := p.Func[int, int](inc)
	b.Run("Direct5", func(b *testing.B) {
		var s p.Primitive[int, int] = f
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			x, _ := s.Execute(ctx, i)
			x, _ = s.Execute(ctx, x)
			x, _ = s.Execute(ctx, x)
			x, _ = s.Execute(ctx, x)
			x, _ = s.Execute(ctx, x)
			sink = x
		}
	})
	b.Run("Untraced", func(b *testing.B) {
		seq := p.Sequential[int](f, f, f, f, f)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			x, _ := seq.Execute(ctx, i)
			sink = x
		}
	})
	b.Run("TracedInMemory", func(b *testing.B) {
		exp := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		defer func() { _ = tp.Shutdown(ctx) }()
		seq := p.Sequential[int](f, f, f, f, f).With(observability.WithTracerProvider(tp))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			x, _ := seq.Execute(ctx, i)
			sink = x
			if i%64 == 0 {
				exp.Reset()
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/5, "ns/span")
	})
}

func BenchmarkParallel10(b *testing.B) {
	ctx := context.Background()
	f := p.Func[int, int](inc)
	branches := make([]p.Primitive[int, int], 10)
	for i := range branches {
		branches[i] = f
	}
	b.Run("Direct10", func(b *testing.B) {
		b.ReportAllocs()
		out := make([]int, 10)
		for i := 0; i < b.N; i++ {
			for j, br := range branches {
				out[j], _ = br.Execute(ctx, i)
			}
		}
	})
	b.Run("Parallel10", func(b *testing.B) {
		par := p.Parallel(branches...)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, _ = par.Execute(ctx, i)
		}
	})
	b.Run("Parallel10Bounded2", func(b *testing.B) {
		par := p.Parallel(branches...).With(p.MaxConcurrency(2))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, _ = par.Execute(ctx, i)
		}
	})
}
