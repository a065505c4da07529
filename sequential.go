package primitives

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/ttadev/primitives/observability"
)

// Sequential returns a primitive that runs steps in order, each step's
// output being the next step's input. The first error stops the chain and
// is returned as a *StepError naming the step. It panics at construction
// when steps is empty or any step is nil. Nested Sequentials are flattened.
//
// When a tracer provider is installed, each step runs in a span named
// "sequential.step_<i>" (i from 0) carrying the correlation id; without
// one, Sequential allocates nothing. The context is checked before each
// step. Use [Chain.With] to pass options.
//
// Invariants (docs/architecture.md): all hold. The context is checked
// before each step; a *StepError keeps its step's retry verdict (errors.As
// sees through it); a panic of a step goes on to the caller unchanged.
func Sequential[T any](steps ...Primitive[T, T]) *Chain[T] {
	if len(steps) == 0 {
		panic("primitives: Sequential: no steps")
	}
	flat := make([]Primitive[T, T], 0, len(steps))
	for i, s := range steps {
		if IsNil(s) {
			panic(fmt.Sprintf("primitives: Sequential: step %d is nil", i))
		}
		if inner, ok := s.(*Chain[T]); ok && !inner.configured {
			flat = append(flat, inner.steps...)
			continue
		}
		flat = append(flat, s)
	}
	return &Chain[T]{steps: flat}
}

// Chain is the primitive built by [Sequential]. It is safe for concurrent
// use.
type Chain[T any] struct {
	steps      []Primitive[T, T]
	telemetry  observability.Providers
	configured bool // With was called: a nested chain keeps its own spans
}

// With returns a copy of the chain with the telemetry options opts added
// to those it already has (a later option overrides an earlier one of the
// same kind). It panics when an option is the zero observability.Option.
func (c *Chain[T]) With(opts ...observability.Option) *Chain[T] {
	cp := *c
	cp.telemetry = c.telemetry.With(opts...)
	cp.configured = true
	return &cp
}

// Len returns the number of steps after flattening.
func (c *Chain[T]) Len() int { return len(c.steps) }

// Execute runs the steps in order.
func (c *Chain[T]) Execute(ctx context.Context, in T) (T, error) {
	if tracer, ok := c.telemetry.Tracer(); ok {
		return c.executeTraced(ctx, in, tracer)
	}
	var zero T
	cur := in
	for i, s := range c.steps {
		if err := cause(ctx); err != nil {
			return zero, err
		}
		out, err := s.Execute(ctx, cur)
		if err != nil {
			return zero, &StepError{Index: i, Err: err}
		}
		cur = out
	}
	return cur, nil
}

func (c *Chain[T]) executeTraced(ctx context.Context, in T, tracer trace.Tracer) (T, error) {
	var zero T
	cur := in
	for i, s := range c.steps {
		if err := cause(ctx); err != nil {
			return zero, err
		}
		sctx, span := observability.StartSpan(ctx, tracer, observability.StepSpan(i),
			attribute.Int(observability.AttrStepIndex, i))
		out, err := s.Execute(sctx, cur)
		observability.End(span, err)
		if err != nil {
			return zero, &StepError{Index: i, Err: err}
		}
		cur = out
	}
	return cur, nil
}

func (*Chain[T]) checksContext() {}
