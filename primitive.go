package primitives

import (
	"context"
	"fmt"
	"reflect"
)

// Primitive is one typed step of a pipeline. Implementations must be safe
// for concurrent use when the pipeline is executed concurrently; every
// primitive of this module is.
type Primitive[In, Out any] interface {
	Execute(ctx context.Context, in In) (Out, error)
}

// Func adapts an ordinary function to a Primitive. It is a conversion, so
// it needs its type arguments; [From] infers them.
//
//	double := primitives.Func[int, int](func(_ context.Context, n int) (int, error) { return 2 * n, nil })
//	double := primitives.From(func(_ context.Context, n int) (int, error) { return 2 * n, nil })
type Func[In, Out any] func(ctx context.Context, in In) (Out, error)

// Execute calls f.
func (f Func[In, Out]) Execute(ctx context.Context, in In) (Out, error) {
	return f(ctx, in)
}

// From adapts an ordinary function to a Primitive, inferring the types
// from the function, so that a closure or a method value becomes a step
// without type arguments:
//
//	validate := primitives.From(func(ctx context.Context, out sandbox.CodeOutput) (bool, error) { ... })
//	step := primitives.From(svc.Handle) // a method value
//
// It is Func[In, Out](f) and costs nothing more. A nil f panics.
func From[In, Out any](f func(ctx context.Context, in In) (Out, error)) Func[In, Out] {
	mustFunc("From", f)
	return Func[In, Out](f)
}

// Lift adapts a function that cannot fail and needs no context.
func Lift[In, Out any](f func(In) Out) Primitive[In, Out] {
	mustFunc("Lift", f)
	return Func[In, Out](func(_ context.Context, in In) (Out, error) { return f(in), nil })
}

// Identity returns a primitive that returns its input unchanged.
func Identity[T any]() Primitive[T, T] {
	return identity[T]{}
}

type identity[T any] struct{}

func (identity[T]) Execute(_ context.Context, in T) (T, error) { return in, nil }

// mustPrimitive panics with a clear message when p is nil (including a
// typed nil Func).
func mustPrimitive[In, Out any](constructor string, what string, p Primitive[In, Out]) {
	if IsNil(p) {
		panic(fmt.Sprintf("primitives: %s: %s is nil", constructor, what))
	}
}

func mustFunc[F any](constructor string, f F) {
	if isNilValue(any(f)) {
		panic(fmt.Sprintf("primitives: %s: function is nil", constructor))
	}
}

// IsNil reports whether p is nil, including a typed nil such as a nil Func
// or a nil pointer stored in the interface. Authors of combinators use it to
// reject nil primitives at construction.
func IsNil[In, Out any](p Primitive[In, Out]) bool {
	return isNilValue(p)
}

func isNilValue(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Func, reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// cause returns the reason ctx is done, preferring the cancellation cause.
func cause(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		if c := context.Cause(ctx); c != nil {
			return c
		}
		return err
	}
	return nil
}
