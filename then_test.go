package primitives_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	p "github.com/ttadev/primitives"
)

func TestThenChangesTypes(t *testing.T) {
	toString := p.Lift(func(n int) string { return strconv.Itoa(n) })
	length := p.Lift(func(s string) int { return len(s) })
	got, err := p.Then(p.Then(add(1), toString), length).Execute(context.Background(), 99)
	if err != nil || got != 3 {
		t.Fatalf("got %d, %v; want 3, nil", got, err)
	}
}

func TestPipeNRunsInOrder(t *testing.T) {
	var trail []string
	step := func(name string) p.Primitive[string, string] {
		return p.Func[string, string](func(_ context.Context, s string) (string, error) {
			trail = append(trail, name)
			return s + name, nil
		})
	}
	a, b, c, d, e, f, g, h := step("a"), step("b"), step("c"), step("d"), step("e"), step("f"), step("g"), step("h")
	cases := map[string]p.Primitive[string, string]{
		"abc":      p.Pipe3(a, b, c),
		"abcd":     p.Pipe4(a, b, c, d),
		"abcde":    p.Pipe5(a, b, c, d, e),
		"abcdef":   p.Pipe6(a, b, c, d, e, f),
		"abcdefg":  p.Pipe7(a, b, c, d, e, f, g),
		"abcdefgh": p.Pipe8(a, b, c, d, e, f, g, h),
	}
	for want, pipe := range cases {
		trail = nil
		got, err := pipe.Execute(context.Background(), "")
		if err != nil || got != want || len(trail) != len(want) {
			t.Errorf("pipe %s: got %q, %v (trail %v)", want, got, err, trail)
		}
	}
}

func TestThenStopsAtFirstError(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	second := p.Func[int, int](func(_ context.Context, n int) (int, error) { calls++; return n, nil })
	fail := p.Func[int, int](func(context.Context, int) (int, error) { return 0, boom })
	_, err := p.Pipe3(add(1), fail, second).Execute(context.Background(), 1)
	if !errors.Is(err, boom) || calls != 0 {
		t.Fatalf("err %v, calls %d; want boom and 0", err, calls)
	}
}

func TestThenHonoursCancellationBeforeEachStep(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stopped by test")
	ran := 0
	first := p.Func[int, int](func(_ context.Context, n int) (int, error) { ran++; cancel(stop); return n, nil })
	second := p.Func[int, int](func(_ context.Context, n int) (int, error) { ran++; return n, nil })
	_, err := p.Then(first, second).Execute(ctx, 0)
	if !errors.Is(err, stop) || ran != 1 {
		t.Fatalf("err %v ran %d; want the cancel cause and 1 step", err, ran)
	}

	ran = 0
	_, err = p.Then(first, second).Execute(ctx, 0)
	if ran != 0 || !errors.Is(err, stop) {
		t.Fatalf("already-cancelled context: ran %d err %v", ran, err)
	}
}

func TestConstructorsRejectNil(t *testing.T) {
	var nilFunc p.Func[int, int]
	mustPanic(t, "Then: first primitive is nil", func() { p.Then[int, int, int](nil, add(1)) })
	mustPanic(t, "Then: second primitive is nil", func() { p.Then(add(1), p.Primitive[int, int](nilFunc)) })
	mustPanic(t, "Sequential: no steps", func() { p.Sequential[int]() })
	mustPanic(t, "Sequential: step 1 is nil", func() { p.Sequential(add(1), nil) })
	mustPanic(t, "Parallel: no branches", func() { p.Parallel[int, int]() })
	mustPanic(t, "Parallel: branch 0 is nil", func() { p.Parallel[int, int](nilFunc) })
	mustPanic(t, "MaxConcurrency(-1)", func() { p.MaxConcurrency(-1) })
	mustPanic(t, "Conditional: function is nil", func() { p.Conditional(nil, add(1)) })
	mustPanic(t, "Conditional: then primitive is nil", func() {
		p.Conditional(func(context.Context, int) bool { return true }, nil)
	})
	mustPanic(t, "Router: no routes", func() {
		p.Router(func(context.Context, int) (string, error) { return "", nil }, map[string]p.Primitive[int, int]{})
	})
	mustPanic(t, "Router: route x is nil", func() {
		p.Router(func(context.Context, int) (string, error) { return "", nil }, map[string]p.Primitive[int, int]{"x": nil})
	})
	mustPanic(t, "Lift: function is nil", func() { p.Lift[int, int](nil) })
}

func TestIdentity(t *testing.T) {
	got, err := p.Identity[string]().Execute(context.Background(), "same")
	if err != nil || got != "same" {
		t.Fatalf("got %q, %v", got, err)
	}
}
