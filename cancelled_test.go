package primitives_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	p "github.com/ttadev/primitives"
)

// Every combinator of the package honours a context that is already done:
// nothing runs (not even a condition or a selector), and the context's
// cause comes back.
func TestCombinatorsHonourDoneContext(t *testing.T) {
	var ran atomic.Int32
	step := p.Func[int, int](func(_ context.Context, n int) (int, error) { ran.Add(1); return n, nil })
	cond := func(context.Context, int) bool { ran.Add(1); return true }
	sel := func(context.Context, int) (string, error) { ran.Add(1); return "a", nil }
	routes := map[string]p.Primitive[int, int]{"a": step}
	cases := map[string]p.Primitive[int, int]{
		"Then":        p.Then(step, step),
		"Pipe3":       p.Pipe3(step, step, step),
		"Sequential":  p.Sequential(step, step),
		"Conditional": p.Conditional(cond, step),
		"IfElse":      p.IfElse(cond, step, step),
		"Router":      p.Router(sel, routes),
		"Switch":      p.Switch(func(n int) string { ran.Add(1); return "a" }, routes),
		"Instrument":  p.Instrument("inc", step),
	}
	stop := errors.New("caller gave up")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(stop)
	for name, c := range cases {
		ran.Store(0)
		if _, err := c.Execute(ctx, 1); !errors.Is(err, stop) {
			t.Errorf("%s: err %v; want the context's cause", name, err)
		}
		if n := ran.Load(); n != 0 {
			t.Errorf("%s: %d calls on a done context", name, n)
		}
	}
	ran.Store(0)
	if _, err := p.Parallel(step, step).Execute(ctx, 1); !errors.Is(err, stop) || ran.Load() != 0 {
		t.Errorf("Parallel: err %v after %d calls", err, ran.Load())
	}
}

// A context cancelled while a Router's selector or a Conditional's
// condition runs (an LLM classifier, say) is honoured before the chosen
// step starts.
func TestCancelBetweenChoiceAndStep(t *testing.T) {
	stop := errors.New("stopped")
	var ran atomic.Int32
	step := p.Func[int, int](func(_ context.Context, n int) (int, error) { ran.Add(1); return n, nil })
	for name, build := range map[string]func(cancel context.CancelCauseFunc) p.Primitive[int, int]{
		"Router": func(cancel context.CancelCauseFunc) p.Primitive[int, int] {
			return p.Router(func(context.Context, int) (string, error) { cancel(stop); return "a", nil },
				map[string]p.Primitive[int, int]{"a": step})
		},
		"Conditional": func(cancel context.CancelCauseFunc) p.Primitive[int, int] {
			return p.Conditional(func(context.Context, int) bool { cancel(stop); return true }, step)
		},
		"ConditionalElse": func(cancel context.CancelCauseFunc) p.Primitive[int, int] {
			return p.Conditional(func(context.Context, int) bool { cancel(stop); return false }, step, step)
		},
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		ran.Store(0)
		if _, err := build(cancel).Execute(ctx, 1); !errors.Is(err, stop) || ran.Load() != 0 {
			t.Errorf("%s: err %v after %d calls; want the cause and no call", name, err, ran.Load())
		}
		cancel(nil)
	}
}
