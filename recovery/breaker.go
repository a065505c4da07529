package recovery

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

// CircuitBreaker returns a primitive that protects p, a call to a
// dependency that may go down, from being called while it is failing.
// It panics at construction when p is nil or an option is nil or invalid.
//
// Closed (the start), calls go through and failures are counted; after
// [FailureThreshold] consecutive failures (default 5), or a failure ratio
// over a time window ([FailureRatio]), the circuit opens. Open, calls fail
// fast with an *OpenError matching [ErrCircuitOpen], without calling p.
// After [RecoveryTimeout] (default 60 s) it goes half-open: up to
// [HalfOpenMaxCalls] trial calls at a time go through; [SuccessThreshold]
// successes (default 2) close it, any failure opens it again. Which errors
// are failures is said by [FailureIf]; an error returned after the caller
// cancelled its context counts as nothing, whatever the cancellation's
// cause (a Parallel branch cancelled because a sibling failed does not
// trip its breaker). A call whose primitive panics
// counts as a failure, and the panic goes on unwinding. Results of calls
// admitted before a state change are not counted in the new state. A call
// whose context is already done returns the context's cause without
// calling p or taking a half-open trial slot.
//
// State changes are reported to [OnStateChange] hooks, logged, and, when a
// tracer provider is installed, recorded as a
// "circuit_breaker.state_change" event on the "circuit_breaker" span of the
// call that caused them.
//
// Cost: in the closed state with the default rule, two atomic loads (and
// an atomic write after a failure or the first success following one); no
// allocation, no lock. Transitions and half-open bookkeeping take a mutex.
//
// The returned *Breaker is safe for concurrent use if p is.
//
// Invariants (docs/architecture.md): all hold. A caller's cancellation,
// whatever its cause, is read from the caller's context and counts as
// nothing; a panic counts as a failure, frees a half-open trial slot and
// goes on to the caller; errors pass unchanged.
func CircuitBreaker[In, Out any](p primitives.Primitive[In, Out], opts ...BreakerOption) *Breaker[In, Out] {
	if primitives.IsNil(p) {
		panic("recovery: CircuitBreaker: primitive is nil")
	}
	cfg := newBreakerConfig(opts)
	b := &Breaker[In, Out]{p: p, cfg: cfg, epoch: cfg.clock.Now()}
	if cfg.ratio > 0 {
		b.window = newSlidingWindow(cfg.window)
	}
	return b
}

// Breaker is the primitive built by [CircuitBreaker]. It is safe for
// concurrent use if the wrapped primitive is.
type Breaker[In, Out any] struct {
	p     primitives.Primitive[In, Out]
	cfg   breakerConfig
	epoch time.Time

	// state packs a generation counter (high bits) with the State (low 2
	// bits); the generation grows at every transition, so a result can be
	// matched to the state its call was admitted in.
	state    atomic.Uint64
	failures atomic.Int64 // consecutive failures, closed state
	openedAt atomic.Int64 // clock time of the last opening, ns since epoch

	mu        sync.Mutex // transitions, half-open bookkeeping
	inflight  int        // half-open trial calls in flight
	successes int        // half-open successes
	window    *slidingWindow
}

func stateOf(sg uint64) State { return State(sg & 3) }

func (b *Breaker[In, Out]) now() int64 { return int64(b.cfg.clock.Now().Sub(b.epoch)) }

// State returns the current state. An open circuit whose recovery time has
// passed is moved to half-open (and the hooks told) by this call.
func (b *Breaker[In, Out]) State() State {
	sg := b.state.Load()
	if stateOf(sg) == StateOpen && b.remaining() <= 0 {
		b.mu.Lock()
		if b.state.Load() == sg {
			b.transitionLocked(context.Background(), sg, StateHalfOpen, nil)
		}
		b.mu.Unlock()
		return stateOf(b.state.Load())
	}
	return stateOf(sg)
}

func (b *Breaker[In, Out]) remaining() time.Duration {
	return time.Duration(b.openedAt.Load() + int64(b.cfg.recovery) - b.now())
}

// Execute calls the protected primitive, or fails fast while the circuit
// is open.
func (b *Breaker[In, Out]) Execute(ctx context.Context, in In) (Out, error) {
	if err := doneCause(ctx); err != nil {
		var zero Out
		return zero, err
	}
	if tracer, ok := b.cfg.telemetry.Tracer(); ok {
		return b.executeTraced(ctx, in, tracer)
	}
	sg, err := b.admit(ctx, nil)
	if err != nil {
		var zero Out
		return zero, err
	}
	return b.call(ctx, ctx, sg, in, nil)
}

func (b *Breaker[In, Out]) executeTraced(ctx context.Context, in In, tracer trace.Tracer) (Out, error) {
	sctx, span := observability.StartSpan(ctx, tracer, observability.SpanCircuitBreaker,
		attribute.String(observability.AttrCircuitState, stateOf(b.state.Load()).String()))
	sg, err := b.admit(ctx, span)
	if err != nil {
		observability.End(span, err)
		var zero Out
		return zero, err
	}
	out, err := b.call(ctx, sctx, sg, in, span)
	observability.End(span, err)
	return out, err
}

// errPanicked stands for the result of a call whose primitive panicked.
var errPanicked = errors.New("recovery: CircuitBreaker: protected primitive panicked")

// call runs p under pctx and records its result. When p panics, the call
// is recorded as a failure (and its span ended) while the panic goes on
// unwinding, so a half-open trial slot is never lost to it.
func (b *Breaker[In, Out]) call(ctx, pctx context.Context, sg uint64, in In, span trace.Span) (Out, error) {
	returned := false
	defer func() {
		if !returned {
			b.record(ctx, sg, errPanicked, span)
			observability.End(span, errPanicked)
		}
	}()
	out, err := b.p.Execute(pctx, in)
	returned = true
	b.record(ctx, sg, err, span)
	return out, err
}

// admit decides whether a call may go through and returns the state word
// it was admitted under.
func (b *Breaker[In, Out]) admit(ctx context.Context, span trace.Span) (uint64, error) {
	for {
		sg := b.state.Load()
		switch stateOf(sg) {
		case StateClosed:
			return sg, nil
		case StateOpen:
			if rem := b.remaining(); rem > 0 {
				return 0, &OpenError{State: StateOpen, Remaining: rem}
			}
			b.mu.Lock()
			if b.state.Load() == sg {
				b.transitionLocked(ctx, sg, StateHalfOpen, span)
			}
			b.mu.Unlock()
		case StateHalfOpen:
			b.mu.Lock()
			if b.state.Load() != sg {
				b.mu.Unlock()
				continue
			}
			if b.inflight >= b.cfg.halfOpenMax {
				b.mu.Unlock()
				return 0, &OpenError{State: StateHalfOpen}
			}
			b.inflight++
			b.mu.Unlock()
			return sg, nil
		}
	}
}

// record counts the result of a call admitted under sg.
func (b *Breaker[In, Out]) record(ctx context.Context, sg uint64, err error, span trace.Span) {
	// The caller cancelled (with any cause: a Parallel sibling's failure,
	// an abandoned request): the result says nothing about the dependency.
	// A caller's passed deadline still counts: a slow dependency is a
	// failing one.
	ignored := err != nil && err != errPanicked && errors.Is(ctx.Err(), context.Canceled)
	failure := err == errPanicked || err != nil && !ignored && b.cfg.failureIf(err)
	if stateOf(sg) == StateHalfOpen {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.state.Load() != sg {
			return
		}
		b.inflight--
		switch {
		case ignored:
		case failure:
			b.transitionLocked(ctx, sg, StateOpen, span)
		default:
			b.successes++
			if b.successes >= b.cfg.successThreshold {
				b.transitionLocked(ctx, sg, StateClosed, span)
			}
		}
		return
	}
	// Closed.
	if ignored || b.state.Load() != sg {
		return
	}
	if b.window != nil {
		if tripped := b.window.add(b.now(), failure, b.cfg.minCalls, b.cfg.ratio); tripped && failure {
			b.trip(ctx, sg, span)
			return
		}
	}
	if b.cfg.failureThreshold == 0 {
		return
	}
	if failure {
		if b.failures.Add(1) >= int64(b.cfg.failureThreshold) {
			b.trip(ctx, sg, span)
		}
	} else if b.failures.Load() != 0 {
		b.failures.Store(0)
	}
}

func (b *Breaker[In, Out]) trip(ctx context.Context, sg uint64, span trace.Span) {
	b.mu.Lock()
	if b.state.Load() == sg {
		b.transitionLocked(ctx, sg, StateOpen, span)
	}
	b.mu.Unlock()
}

// transitionLocked moves from the state word from to state to. b.mu must
// be held and b.state must still be from.
func (b *Breaker[In, Out]) transitionLocked(ctx context.Context, from uint64, to State, span trace.Span) {
	now := b.now()
	switch to {
	case StateOpen:
		b.openedAt.Store(now)
	case StateHalfOpen:
		b.inflight, b.successes = 0, 0
	case StateClosed:
		b.failures.Store(0)
		if b.window != nil {
			b.window.reset()
		}
	}
	b.state.Store((from>>2+1)<<2 | uint64(to))
	change := StateChange{From: stateOf(from), To: to, At: b.epoch.Add(time.Duration(now))}
	if span != nil {
		span.AddEvent(observability.EventCircuitStateChange, trace.WithAttributes(
			attribute.String(observability.AttrCircuitStateFrom, change.From.String()),
			attribute.String(observability.AttrCircuitStateTo, change.To.String())))
	}
	level := slog.LevelInfo
	if to == StateOpen {
		level = slog.LevelWarn
	}
	observability.Log(ctx, b.cfg.telemetry.Log(), level, "circuit breaker state change",
		slog.String(observability.AttrCircuitStateFrom, change.From.String()),
		slog.String(observability.AttrCircuitStateTo, change.To.String()))
	if b.cfg.onStateChange != nil {
		b.cfg.onStateChange(change)
	}
}
