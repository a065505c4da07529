package primitives_test

import (
	"context"
	"errors"
	"testing"

	p "github.com/ttadev/primitives"
)

func isEven(_ context.Context, n int) bool { return n%2 == 0 }

func TestConditional(t *testing.T) {
	withElse := p.Conditional(isEven, add(100), add(1))
	noElse := p.Conditional(isEven, add(100))
	for _, c := range []struct {
		prim    p.Primitive[int, int]
		in, out int
	}{{withElse, 2, 102}, {withElse, 3, 4}, {noElse, 2, 102}, {noElse, 3, 3}} {
		got, err := c.prim.Execute(context.Background(), c.in)
		if err != nil || got != c.out {
			t.Errorf("in %d: got %d, %v; want %d", c.in, got, err, c.out)
		}
	}
	mustPanic(t, "at most one else", func() { p.Conditional(isEven, add(1), add(2), add(3)) })
}

func TestIfElseChangesType(t *testing.T) {
	label := p.IfElse(isEven, p.Lift(func(int) string { return "even" }), p.Lift(func(int) string { return "odd" }))
	if got, _ := label.Execute(context.Background(), 3); got != "odd" {
		t.Fatalf("got %q", got)
	}
}

func TestRouter(t *testing.T) {
	selector := func(_ context.Context, s string) (string, error) {
		if s == "" {
			return "", errors.New("empty input")
		}
		return s[:1], nil
	}
	upper := p.Lift(func(s string) string { return "A:" + s })
	lower := p.Lift(func(s string) string { return "B:" + s })
	routes := map[string]p.Primitive[string, string]{"a": upper, "b": lower}
	r := p.Router(selector, routes)

	wf := p.NewWorkflowContext()
	ctx := p.WithWorkflow(context.Background(), wf)
	if got, err := r.Execute(ctx, "apple"); err != nil || got != "A:apple" {
		t.Fatalf("got %q, %v", got, err)
	}
	_, err := r.Execute(ctx, "zebra")
	var ue *p.UnknownRouteError
	if !errors.As(err, &ue) || ue.Key != "z" {
		t.Fatalf("err = %v, want *UnknownRouteError for z", err)
	}
	if err.Error() != `router: no route for key "z" (known routes: a, b)` {
		t.Fatalf("message %q", err.Error())
	}
	if _, err := r.Execute(ctx, ""); err == nil || err.Error() != "empty input" {
		t.Fatalf("selector error not returned: %v", err)
	}

	withDefault := p.Router(selector, routes, p.Lift(func(s string) string { return "default:" + s }))
	if got, _ := withDefault.Execute(ctx, "zebra"); got != "default:zebra" {
		t.Fatalf("got %q", got)
	}
	h, _ := wf.Get(p.RoutingHistoryKey)
	hist, _ := h.([]p.RouteDecision)
	want := []p.RouteDecision{{Key: "a", UsedRoute: "a"}, {Key: "z", UsedRoute: "default"}}
	if len(hist) != 2 || hist[0] != want[0] || hist[1] != want[1] {
		t.Fatalf("routing history %v, want %v", hist, want)
	}
}

func TestSwitch(t *testing.T) {
	sw := p.Switch(func(n int) bool { return n > 10 }, map[bool]p.Primitive[int, string]{
		true:  p.Lift(func(int) string { return "big" }),
		false: p.Lift(func(int) string { return "small" }),
	})
	if got, _ := sw.Execute(context.Background(), 11); got != "big" {
		t.Fatalf("got %q", got)
	}
}
