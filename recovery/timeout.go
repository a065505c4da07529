package recovery

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

// Timeout returns a primitive that runs p with a context whose deadline is
// d from now (context.WithTimeout), so work that honours its context really
// stops: an HTTP request is aborted, a sandbox kills the running code. A
// shorter deadline already on the caller's context is kept. It panics at
// construction when p is nil, d <= 0 or an option is nil.
//
// What comes back:
//   - the context's cause (context.Cause), without calling p, when the
//     caller's context is already done;
//   - p's output when it succeeds, even if it returned after the deadline
//     (a result that arrived is not thrown away);
//   - when p fails after OUR deadline passed: a *TimeoutError matching
//     [ErrTimeout] and context.DeadlineExceeded and wrapping p's error,
//     retryable (Transient) unless p's error says it is not (an error
//     marked [Permanent] keeps its verdict); or, with
//     [TimeLimit.WithFallback], the fallback's result;
//   - when the CALLER's context is done (its own deadline or cancel): p's
//     error unchanged, never our timeout, and no fallback;
//   - any other failure of p unchanged.
//
// The inner context's cause (context.Cause) is a *TimeoutError, so p can
// tell our deadline from the caller's.
//
// By default p runs on the caller's goroutine: Timeout costs one
// context.WithTimeoutCause (a few hundred ns and 4 allocations) and no
// goroutine, but a primitive that ignores its context is not interrupted,
// and Timeout returns only when it does. [AbandonOnDeadline] returns at the
// deadline instead; see there for its cost.
//
// When a tracer provider is installed, Execute runs in a "timeout" span
// carrying the limit (timeout.ms). The returned *TimeLimit is safe for
// concurrent use if p is.
//
// Invariants (docs/architecture.md): all hold. Only Timeout's own
// deadline (read from its context, not from the error) makes a
// *TimeoutError, which keeps an inner "not retryable"; a panic of p goes
// on to the caller, or, with AbandonOnDeadline, comes back as a
// *primitives.PanicError; the inner context is released on every path.
func Timeout[In, Out any](p primitives.Primitive[In, Out], d time.Duration, opts ...TimeoutOption) *TimeLimit[In, Out] {
	if primitives.IsNil(p) {
		panic("recovery: Timeout: primitive is nil")
	}
	if d <= 0 {
		panic(fmt.Sprintf("recovery: Timeout: duration must be > 0, got %s", d))
	}
	var cfg timeoutConfig
	applyOptions("Timeout", opts, &cfg.telemetry, func(o TimeoutOption) bool {
		to, ok := o.(timeoutOptionFunc)
		if ok {
			to(&cfg)
		}
		return ok
	})
	return &TimeLimit[In, Out]{
		p:     p,
		d:     d,
		cfg:   cfg,
		cause: &TimeoutError{Op: "timeout", After: d, Err: context.DeadlineExceeded, Transient: true},
	}
}

type timeoutConfig struct {
	abandon   bool
	telemetry observability.Providers
}

// AbandonOnDeadline makes Timeout return as soon as the deadline passes (or
// the caller's context is done) even when the inner primitive ignores its
// context. The inner call then runs on a goroutine of its own: it still
// receives the cancelled context, and when it finally returns its result
// is dropped (it is handed over through a buffered channel, so the
// goroutine never blocks and nothing is shared with the caller). The only
// goroutine that outlives Execute is that stuck inner call. A panic in the
// inner call is returned as a *primitives.PanicError instead of crashing.
//
// Cost: one goroutine and a channel per Execute (about two more
// allocations and a goroutine switch). Prefer fixing a primitive that
// ignores its context; use this for third-party code you cannot fix.
func AbandonOnDeadline() TimeoutOption {
	return timeoutOptionFunc(func(c *timeoutConfig) { c.abandon = true })
}

// TimeLimit is the primitive built by [Timeout]. It is safe for concurrent
// use if the wrapped primitives are.
type TimeLimit[In, Out any] struct {
	p        primitives.Primitive[In, Out]
	fallback primitives.Primitive[In, Out]
	d        time.Duration
	cfg      timeoutConfig
	cause    *TimeoutError
}

// WithFallback returns a copy of t that answers with fallback when p times
// out (only on OUR deadline, never when the caller's context is done). The
// fallback runs with the caller's context, not the expired one; its result
// or error is returned as is. The compiler checks that fallback has p's
// types. A nil fallback panics.
func (t *TimeLimit[In, Out]) WithFallback(fallback primitives.Primitive[In, Out]) *TimeLimit[In, Out] {
	if primitives.IsNil(fallback) {
		panic("recovery: Timeout: WithFallback: fallback primitive is nil")
	}
	cp := *t
	cp.fallback = fallback
	return &cp
}

// Limit returns the duration given to Timeout.
func (t *TimeLimit[In, Out]) Limit() time.Duration { return t.d }

// Execute runs the wrapped primitive under the deadline.
func (t *TimeLimit[In, Out]) Execute(ctx context.Context, in In) (Out, error) {
	if err := doneCause(ctx); err != nil {
		var zero Out
		return zero, err
	}
	tracer, traced := t.cfg.telemetry.Tracer()
	if !traced {
		return t.execute(ctx, in, nil)
	}
	return t.executeTraced(ctx, in, tracer)
}

func (t *TimeLimit[In, Out]) executeTraced(ctx context.Context, in In, tracer trace.Tracer) (Out, error) {
	sctx, span := observability.StartSpan(ctx, tracer, observability.SpanTimeout,
		attribute.Int64(observability.AttrTimeoutMS, t.d.Milliseconds()))
	out, err := t.execute(sctx, in, span)
	observability.End(span, err)
	return out, err
}

func (t *TimeLimit[In, Out]) execute(ctx context.Context, in In, span trace.Span) (Out, error) {
	tctx, cancel := context.WithTimeoutCause(ctx, t.d, t.cause)
	defer cancel() // also when p panics
	var (
		out Out
		err error
	)
	if t.cfg.abandon {
		out, err = runAbandonable(tctx, t.p, in)
	} else {
		out, err = t.p.Execute(tctx, in)
	}
	if err == nil {
		cancel()
		return out, nil
	}
	ours := context.Cause(tctx) == t.cause && ctx.Err() == nil
	cancel()
	if !ours {
		return out, err
	}
	if t.fallback != nil {
		if span != nil {
			span.AddEvent(observability.EventTimeoutFallbackStarted)
		}
		return t.fallback.Execute(ctx, in)
	}
	var zero Out
	return zero, &TimeoutError{Op: "timeout", After: t.d, Err: err, Transient: innerVerdict(err)}
}

// innerVerdict is whether a timeout whose inner error is err may be
// retried: what err says when it says it (an error marked Permanent that
// arrived after the deadline is still permanent), else yes.
func innerVerdict(err error) bool {
	if r, ok := errors.AsType[Retryable](err); ok {
		return r.Retryable()
	}
	return true
}

type outcome[Out any] struct {
	out Out
	err error
}

// runAbandonable runs p on its own goroutine and returns its result, or
// the context's error as soon as ctx is done.
func runAbandonable[In, Out any](ctx context.Context, p primitives.Primitive[In, Out], in In) (Out, error) {
	done := make(chan outcome[Out], 1)
	go func() {
		var o outcome[Out]
		defer func() {
			if r := recover(); r != nil {
				o = outcome[Out]{err: &primitives.PanicError{Value: r, Stack: debug.Stack()}}
			}
			done <- o
		}()
		o.out, o.err = p.Execute(ctx, in)
	}()
	select {
	case o := <-done:
		return o.out, o.err
	case <-ctx.Done():
		select {
		case o := <-done: // finished at the same moment: keep its answer
			return o.out, o.err
		default:
		}
		var zero Out
		return zero, ctx.Err()
	}
}
