package refine_test

import (
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/refine"
	"github.com/ttadev/primitives/sandbox"
)

// The loop's own cost per attempt, without generation or execution: the
// generator and executor answer at once with a realistic failure (a
// traceback and some output), so what is measured is building each
// request, recording and cutting the failure, and the bookkeeping. Every
// run makes three attempts (two failures, then success); ns/attempt is
// the figure to read. Tracing is off (except in "traced") and the
// logger discards.
func BenchmarkLoopPerAttempt(b *testing.B) {
	tb := "Traceback (most recent call last):\n  File \"<cell-1>\", line 5, in <module>\n    print(mean([]))\n  File \"<cell-1>\", line 2, in mean\n    return sum(xs) / len(xs)\n           ~~~~~~~~^~~~~~~~~\nZeroDivisionError: division by zero\n"
	failed := sandbox.CodeOutput{Success: false, Logs: strings.Repeat("computing step\n", 200), Stdout: strings.Repeat("computing step\n", 200),
		Error: "ZeroDivisionError: division by zero", ErrorName: "ZeroDivisionError", ErrorValue: "division by zero", Traceback: tb}
	ok := sandbox.CodeOutput{Success: true, Logs: "0.0\n", Stdout: "0.0\n"}
	// Attempt 3's code carries a mark the executor accepts.
	gen := primitives.Func[refine.Request, refine.Generation](func(_ context.Context, req refine.Request) (refine.Generation, error) {
		code := broken
		if req.Attempt == 3 {
			code = fixed + "# 3\n"
		}
		return refine.Generation{Code: code, Usage: refine.Usage{InputTokens: 300, OutputTokens: 60}}, nil
	})
	exec := primitives.Func[sandbox.CodeInput, sandbox.CodeOutput](func(_ context.Context, in sandbox.CodeInput) (sandbox.CodeOutput, error) {
		if strings.Contains(in.Code, "# 3\n") {
			return ok, nil
		}
		return failed, nil
	})
	for _, tc := range []struct {
		name string
		opts []refine.Option
	}{
		{"default", nil},
		{"tests+budget", []refine.Option{refine.Tests("assert mean([]) == 0.0"), refine.TokenBudget(1_000_000)}},
		// Spans created by the SDK and dropped (no processor): the cost of
		// the loop span and one span per attempt.
		{"traced", []refine.Option{observability.WithTracerProvider(sdktrace.NewTracerProvider())}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			loop := refine.New(gen, exec, append(tc.opts, quiet)...)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				res, err := loop.Execute(ctx, "mean")
				if err != nil || res.Attempts != 3 {
					b.Fatal(res.Attempts, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(3*b.N), "ns/attempt")
		})
	}
}
