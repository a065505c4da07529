package primitives_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	p "github.com/ttadev/primitives"
)

// A four-step pipeline in one expression; the compiler checks each joint.
func ExamplePipe4() {
	generate := p.Lift(func(req string) string { return "print(" + req + ")" })
	execute := p.Lift(func(code string) int { return len(code) })
	validate := p.From(func(_ context.Context, n int) (bool, error) {
		if n == 0 {
			return false, errors.New("nothing ran")
		}
		return true, nil
	})
	format := p.Lift(func(ok bool) string { return fmt.Sprintf("valid=%v", ok) })

	workflow := p.Pipe4(generate, execute, validate, format)
	out, err := workflow.Execute(context.Background(), "42")
	fmt.Println(out, err)
	// Output: valid=true <nil>
}

func ExampleThen() {
	parse := p.Lift(strings.Fields)
	count := p.Lift(func(words []string) int { return len(words) })
	n, _ := p.Then(parse, count).Execute(context.Background(), "one two three")
	fmt.Println(n)
	// Output: 3
}

func ExampleSequential() {
	trim := p.Lift(strings.TrimSpace)
	upper := p.Lift(strings.ToUpper)
	exclaim := p.Lift(func(s string) string { return s + "!" })
	out, _ := p.Sequential(trim, upper, exclaim).Execute(context.Background(), "  hello ")
	fmt.Println(out)
	// Output: HELLO!
}

func ExampleParallel() {
	square := p.Lift(func(n int) int { return n * n })
	cube := p.Lift(func(n int) int { return n * n * n })
	out, _ := p.Parallel(square, cube).With(p.MaxConcurrency(2)).Execute(context.Background(), 3)
	fmt.Println(out)
	// Output: [9 27]
}

func ExampleParallel_collectAll() {
	ok := p.Lift(func(n int) int { return n })
	bad := p.From(func(context.Context, int) (int, error) { return 0, errors.New("quota") })
	out, err := p.Parallel(ok, bad).With(p.CollectAll()).Execute(context.Background(), 5)
	fmt.Println(out, err)
	// Output: [5 0] parallel branch 1: quota
}

func ExampleConditional() {
	isLong := func(_ context.Context, s string) bool { return len(s) > 5 }
	shorten := p.Lift(func(s string) string { return s[:5] + "…" })
	clip := p.Conditional(isLong, shorten) // no else: short input passes through
	a, _ := clip.Execute(context.Background(), "abc")
	b, _ := clip.Execute(context.Background(), "abcdefgh")
	fmt.Println(a, b)
	// Output: abc abcde…
}

func ExampleRouter() {
	byLanguage := func(_ context.Context, file string) (string, error) {
		return file[strings.LastIndex(file, ".")+1:], nil
	}
	route := p.Router(byLanguage, map[string]p.Primitive[string, string]{
		"py": p.Lift(func(f string) string { return "python " + f }),
		"go": p.Lift(func(f string) string { return "go run " + f }),
	})
	cmd, _ := route.Execute(context.Background(), "main.go")
	fmt.Println(cmd)
	_, err := route.Execute(context.Background(), "app.rb")
	fmt.Println(err)
	// Output:
	// go run main.go
	// router: no route for key "rb" (known routes: go, py)
}

func ExampleWithWorkflow() {
	wf := p.NewWorkflowContext(p.CorrelationID("exec-123"), p.WorkflowID("codegen"))
	ctx := p.WithWorkflow(context.Background(), wf)

	step := p.From(func(ctx context.Context, in string) (string, error) {
		w := p.WorkflowFrom(ctx)
		w.Set("last_input", in)
		return w.CorrelationID() + ":" + in, nil
	})
	out, _ := step.Execute(ctx, "hello")
	last, _ := wf.Get("last_input")
	fmt.Println(out, last)
	// Output: exec-123:hello hello
}
