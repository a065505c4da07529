package primitives

import "context"

// Then returns a primitive that runs a, then feeds its output to b. The
// compiler checks that a's output type is b's input type. It panics at
// construction when a or b is nil.
//
// Then adds no span and no allocation: it is pure glue. It checks the
// context before each step starts. Use [Sequential] when each step should
// be traced.
//
// Invariants (docs/architecture.md): all hold. Then checks the context
// before each step, so a late success of the first step is followed by the
// context's error; it adds nothing to errors, so their retry verdict is
// the step's; a panic of a step goes on to the caller unchanged.
func Then[A, B, C any](a Primitive[A, B], b Primitive[B, C]) Primitive[A, C] {
	mustPrimitive("Then", "first primitive", a)
	mustPrimitive("Then", "second primitive", b)
	_, aChecks := a.(contextChecker)
	_, bChecks := b.(contextChecker)
	return &then[A, B, C]{a: a, b: b, checkA: !aChecks, checkB: !bChecks}
}

// contextChecker marks the module's combinators, which check the context
// themselves before their first step; Then skips its own check in front of
// them so that a PipeN checks once per stage.
type contextChecker interface{ checksContext() }

type then[A, B, C any] struct {
	a              Primitive[A, B]
	b              Primitive[B, C]
	checkA, checkB bool
}

func (*then[A, B, C]) checksContext() {}

func (t *then[A, B, C]) Execute(ctx context.Context, in A) (C, error) {
	var zero C
	if t.checkA {
		if err := cause(ctx); err != nil {
			return zero, err
		}
	}
	mid, err := t.a.Execute(ctx, in)
	if err != nil {
		return zero, err
	}
	if t.checkB {
		if err := cause(ctx); err != nil {
			return zero, err
		}
	}
	return t.b.Execute(ctx, mid)
}

// Pipe3 chains three steps into one primitive: a, then b, then c.
func Pipe3[A, B, C, D any](a Primitive[A, B], b Primitive[B, C], c Primitive[C, D]) Primitive[A, D] {
	return Then(Then(a, b), c)
}

// Pipe4 chains four steps, as in generate → execute → validate → format.
func Pipe4[A, B, C, D, E any](a Primitive[A, B], b Primitive[B, C], c Primitive[C, D], d Primitive[D, E]) Primitive[A, E] {
	return Then(Pipe3(a, b, c), d)
}

// Pipe5 chains five steps.
func Pipe5[A, B, C, D, E, F any](a Primitive[A, B], b Primitive[B, C], c Primitive[C, D], d Primitive[D, E], e Primitive[E, F]) Primitive[A, F] {
	return Then(Pipe4(a, b, c, d), e)
}

// Pipe6 chains six steps.
func Pipe6[A, B, C, D, E, F, G any](a Primitive[A, B], b Primitive[B, C], c Primitive[C, D], d Primitive[D, E], e Primitive[E, F], f Primitive[F, G]) Primitive[A, G] {
	return Then(Pipe5(a, b, c, d, e), f)
}

// Pipe7 chains seven steps.
func Pipe7[A, B, C, D, E, F, G, H any](a Primitive[A, B], b Primitive[B, C], c Primitive[C, D], d Primitive[D, E], e Primitive[E, F], f Primitive[F, G], g Primitive[G, H]) Primitive[A, H] {
	return Then(Pipe6(a, b, c, d, e, f), g)
}

// Pipe8 chains eight steps.
func Pipe8[A, B, C, D, E, F, G, H, I any](a Primitive[A, B], b Primitive[B, C], c Primitive[C, D], d Primitive[D, E], e Primitive[E, F], f Primitive[F, G], g Primitive[G, H], h Primitive[H, I]) Primitive[A, I] {
	return Then(Pipe7(a, b, c, d, e, f, g), h)
}
