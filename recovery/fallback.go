package recovery

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

// Fallback returns a primitive that runs primary and, when it fails, each
// alternative in order until one succeeds. It panics at construction when
// primary or an alternative is nil, or when no alternative is given. Use
// [FallbackChain.With] to pass options ([FallbackIf], telemetry).
//
// What comes back:
//   - the context's cause (context.Cause), without calling anything, when
//     the context is already done;
//   - the output of the first primitive that succeeds;
//   - the error itself, unwrapped, when the predicate ([FallbackIf]) says
//     it must not trigger the next alternative, or when the caller's
//     context is done after a failure (alternatives would fail too);
//   - a *FallbackError joining every error, primary first, when all fail.
//
// Cost: nothing beyond the calls on the happy path, no allocation. When a
// tracer provider is installed, the primary runs in a "fallback.primary"
// span and alternative i (from 1) in a "fallback.alternative_<i>" span.
//
// The returned *FallbackChain is safe for concurrent use if its primitives
// are.
//
// Invariants (docs/architecture.md): all hold. No alternative runs once
// the caller's context is done, nor for a panic (one on this goroutine
// goes on to the caller; a recovered *primitives.PanicError fails fast);
// a *FallbackError keeps each failure's retry verdict reachable.
func Fallback[In, Out any](primary primitives.Primitive[In, Out], alternatives ...primitives.Primitive[In, Out]) *FallbackChain[In, Out] {
	if primitives.IsNil(primary) {
		panic("recovery: Fallback: primary primitive is nil")
	}
	if len(alternatives) == 0 {
		panic("recovery: Fallback: no alternative given")
	}
	chain := make([]primitives.Primitive[In, Out], 0, 1+len(alternatives))
	chain = append(chain, primary)
	names := make([]string, 0, 1+len(alternatives))
	names = append(names, observability.SpanFallbackPrimary)
	for i, a := range alternatives {
		if primitives.IsNil(a) {
			panic(fmt.Sprintf("recovery: Fallback: alternative %d is nil", i+1))
		}
		chain = append(chain, a)
		names = append(names, observability.Indexed(observability.SpanFallbackAlternative, i+1))
	}
	return &FallbackChain[In, Out]{chain: chain, names: names, cfg: fallbackConfig{fallbackIf: anyError}}
}

// FallbackChain is the primitive built by [Fallback]. It is safe for
// concurrent use if its primitives are.
type FallbackChain[In, Out any] struct {
	chain []primitives.Primitive[In, Out]
	names []string
	cfg   fallbackConfig
}

type fallbackConfig struct {
	fallbackIf func(error) bool
	telemetry  observability.Providers
}

// anyError accepts every error but a recovered panic: a bug is not
// answered by an alternative.
func anyError(err error) bool {
	var pe *primitives.PanicError
	return !errors.As(err, &pe)
}

// FallbackIf sets the predicate that decides whether an error moves on to
// the next alternative; an error it refuses is returned as is. The default
// accepts every error except a recovered panic (*primitives.PanicError):
// a bug fails fast. A nil predicate panics.
func FallbackIf(pred func(error) bool) FallbackOption {
	if pred == nil {
		panic("recovery: FallbackIf: predicate is nil")
	}
	return fallbackOptionFunc(func(c *fallbackConfig) { c.fallbackIf = pred })
}

// With returns a copy of the chain configured by opts. It panics when an
// option is nil.
func (f *FallbackChain[In, Out]) With(opts ...FallbackOption) *FallbackChain[In, Out] {
	cp := *f
	applyOptions("Fallback", opts, &cp.cfg.telemetry, func(o FallbackOption) bool {
		fo, ok := o.(fallbackOptionFunc)
		if ok {
			fo(&cp.cfg)
		}
		return ok
	})
	return &cp
}

// Len returns the number of primitives in the chain, primary included.
func (f *FallbackChain[In, Out]) Len() int { return len(f.chain) }

// Execute tries the primitives in order.
func (f *FallbackChain[In, Out]) Execute(ctx context.Context, in In) (Out, error) {
	if err := doneCause(ctx); err != nil {
		var zero Out
		return zero, err
	}
	tracer, traced := f.cfg.telemetry.Tracer()
	var errs []error
	for i, p := range f.chain {
		var (
			out Out
			err error
		)
		if traced {
			sctx, span := observability.StartSpan(ctx, tracer, f.names[i],
				attribute.Int(observability.AttrFallbackIndex, i))
			out, err = p.Execute(sctx, in)
			observability.End(span, err)
		} else {
			out, err = p.Execute(ctx, in)
		}
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil || !f.cfg.fallbackIf(err) {
			return out, err
		}
		if errs == nil {
			errs = make([]error, 0, len(f.chain))
		}
		errs = append(errs, err)
	}
	var zero Out
	return zero, &FallbackError{Errs: errs}
}

// FallbackError is returned when the primary and every alternative failed.
// Errs holds their errors in order (the primary's first); errors.Is and
// errors.As reach each of them.
type FallbackError struct {
	Errs []error
}

// Error lists every failure, the primary's first.
func (e *FallbackError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fallback: all %d failed: primary: %v", len(e.Errs), e.Errs[0])
	for i, err := range e.Errs[1:] {
		fmt.Fprintf(&b, "; alternative %d: %v", i+1, err)
	}
	return b.String()
}

// Unwrap returns every error, the primary's first.
func (e *FallbackError) Unwrap() []error { return e.Errs }
