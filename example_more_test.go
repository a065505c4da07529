package primitives_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	p "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

// Lift and From turn ordinary functions into primitives: Lift for one that
// cannot fail and needs no context, From for the general case.
func ExampleLift() {
	double := p.Lift(func(n int) int { return 2 * n })
	describe := p.From(func(_ context.Context, n int) (string, error) {
		return fmt.Sprintf("%d is even: %v", n, n%2 == 0), nil
	})
	out, err := p.Then(double, describe).Execute(context.Background(), 21)
	fmt.Println(out, err)
	// Output: 42 is even: true <nil>
}

// IfElse chooses between two branches that change the type.
func ExampleIfElse() {
	isLong := func(_ context.Context, s string) bool { return len(s) > 10 }
	summarise := p.Lift(func(s string) int { return len(strings.Fields(s)) })
	measure := p.Lift(func(s string) int { return len(s) })
	size := p.IfElse(isLong, summarise, measure)

	words, _ := size.Execute(context.Background(), "a rather long sentence")
	chars, _ := size.Execute(context.Background(), "short")
	fmt.Println(words, chars)
	// Output: 4 5
}

// Switch routes on a key computed from the input, with a default route.
func ExampleSwitch() {
	byLanguage := p.Switch(func(lang string) string { return strings.ToLower(lang) },
		map[string]p.Primitive[string, string]{
			"python": p.Lift(func(string) string { return "python3 -c" }),
			"go":     p.Lift(func(string) string { return "go run" }),
		},
		p.Lift(func(lang string) string { return "unsupported: " + lang }))

	for _, lang := range []string{"Python", "go", "Ruby"} {
		cmd, _ := byLanguage.Execute(context.Background(), lang)
		fmt.Println(cmd)
	}
	// Output:
	// python3 -c
	// go run
	// unsupported: Ruby
}

// Instrument adds a span, metrics and a debug log record with the
// correlation id to any primitive.
func ExampleInstrument() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "execution_time_ms" {
				return slog.Attr{} // vary from run to run
			}
			return a
		},
	}))
	upper := p.Instrument("upper", p.Lift(strings.ToUpper), observability.WithLogger(logger))

	ctx := p.WithWorkflow(context.Background(), p.NewWorkflowContext(p.CorrelationID("req-1")))
	out, _ := upper.Execute(ctx, "hello")
	fmt.Println(out)
	// Output:
	// level=DEBUG msg="primitive executed" primitive=upper success=true correlation_id=req-1
	// HELLO
}

// From turns a closure or a method value into a step; the types come from
// the function.
func ExampleFrom() {
	double := p.From(func(_ context.Context, n int) (int, error) { return 2 * n, nil })
	describe := p.From(func(_ context.Context, n int) (string, error) { return fmt.Sprintf("got %d", n), nil })
	out, _ := p.Then(double, describe).Execute(context.Background(), 21)
	fmt.Println(out)
	// Output: got 42
}
