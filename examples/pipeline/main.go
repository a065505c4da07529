// Command pipeline shows the core combinators on plain Go functions: a
// typed four-step pipeline, a parallel fan-out and a router, all sharing
// one WorkflowContext whose correlation id is on every log record.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"unicode"

	p "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

func main() {
	slog.SetDefault(slog.New(observability.NewLogHandler(slog.NewTextHandler(os.Stderr, nil))))

	normalize := p.Lift(strings.TrimSpace)
	tokenize := p.Lift(strings.Fields)
	count := p.Lift(func(words []string) map[string]int {
		m := map[string]int{}
		for _, w := range words {
			m[strings.ToLower(strings.TrimFunc(w, unicode.IsPunct))]++
		}
		return m
	})
	report := p.Func[map[string]int, string](func(ctx context.Context, m map[string]int) (string, error) {
		slog.InfoContext(ctx, "counted words", "distinct", len(m))
		return fmt.Sprintf("%d distinct words, %q appears %d times", len(m), "the", m["the"]), nil
	})
	wordStats := p.Pipe4(normalize, tokenize, count, report)

	stats := p.Parallel(
		p.Lift(func(s string) string { return fmt.Sprintf("%d characters", len(s)) }),
		p.Lift(func(s string) string { return fmt.Sprintf("%d lines", strings.Count(s, "\n")+1) }),
	)

	kind := p.Switch(func(s string) bool { return strings.Contains(s, "def ") },
		map[bool]p.Primitive[string, string]{
			true:  p.Lift(func(string) string { return "looks like Python" }),
			false: p.Lift(func(string) string { return "looks like prose" }),
		})

	text := "  The quick brown fox jumps over the lazy dog.\nThe end.  "
	ctx := p.WithWorkflow(context.Background(), p.NewWorkflowContext(p.CorrelationID("example-1")))

	summary, err := wordStats.Execute(ctx, text)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sizes, err := stats.Execute(ctx, text)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	k, _ := kind.Execute(ctx, text)
	fmt.Println(summary)
	fmt.Println(strings.Join(sizes, ", "))
	fmt.Println(k)
}
