package recovery

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

// SagaStep is one step of a saga: an action and, optionally, the
// compensation that undoes it. Build it with [Step].
type SagaStep[T any] struct {
	action     primitives.Primitive[T, T]
	compensate primitives.Primitive[T, T]
}

// Step pairs an action with the compensation that undoes it; compensate
// may be nil for a step with nothing to undo (a read, a notification). The
// compensation receives the input the action received; the action's output
// is available to it through [CompensatedOutput]. The compensation's own
// output is ignored. A nil action panics.
func Step[T any](action, compensate primitives.Primitive[T, T]) SagaStep[T] {
	if primitives.IsNil(action) {
		panic("recovery: Step: action is nil")
	}
	if primitives.IsNil(compensate) {
		compensate = nil
	}
	return SagaStep[T]{action: action, compensate: compensate}
}

// Saga returns a primitive that runs steps in order, each step's output
// being the next step's input, and undoes the completed ones when a step
// fails: when step k fails, the compensations of steps k-1 down to 0 run in
// that order, each with the input its step received. Every compensation
// runs even if an earlier one failed. It panics at construction when there
// are no steps or a step is the zero SagaStep.
//
// Compensations run under context.WithoutCancel(ctx): they keep the
// context's values (workflow, trace) but not its cancellation or deadline,
// because a cancelled request is exactly when undoing matters. Give a
// compensation its own [Timeout] if it might hang.
//
// Panics follow the module's policy (a panic reaches the caller, after
// the combinator has restored what it owns): when a step panics, the
// completed steps are undone, and then the panic goes on with its
// original value; when a compensation panics, the remaining compensations
// still run before the panic goes on. The saga's error (with every
// compensation failure) is logged at Error level then, since it cannot be
// returned.
//
// On failure Execute returns a *SagaError carrying the failed step and
// every compensation failure; errors.Is and errors.As reach them all. The
// context is checked before each step. When a tracer provider is
// installed, the run has a "saga" span with "saga.step_<i>" and
// "saga.compensation_<i>" children (i from 0). Use [SagaFlow.With] to pass
// telemetry options.
//
// The returned *SagaFlow is safe for concurrent use if its primitives are.
//
// Invariants (docs/architecture.md): all hold. A done context returns its
// cause before the first step; the step errors inside a *SagaError keep
// their retry verdicts; a panic is compensated, then goes on.
func Saga[T any](steps ...SagaStep[T]) *SagaFlow[T] {
	if len(steps) == 0 {
		panic("recovery: Saga: no steps")
	}
	s := &SagaFlow[T]{
		steps:     append([]SagaStep[T](nil), steps...),
		stepNames: make([]string, len(steps)),
		compNames: make([]string, len(steps)),
	}
	for i, st := range steps {
		if st.action == nil {
			panic(fmt.Sprintf("recovery: Saga: step %d has no action (use recovery.Step)", i))
		}
		s.stepNames[i] = observability.Indexed(observability.SpanSagaStepPrefix, i)
		s.compNames[i] = observability.Indexed(observability.SpanSagaCompensationPrefix, i)
	}
	return s
}

// SagaFlow is the primitive built by [Saga]. It is safe for concurrent use
// if its primitives are.
type SagaFlow[T any] struct {
	steps     []SagaStep[T]
	stepNames []string
	compNames []string
	cfg       sagaConfig
}

type sagaConfig struct {
	telemetry observability.Providers
}

// With returns a copy of the saga with the telemetry options opts added
// to those it already has. It panics when an option is the zero
// observability.Option.
func (s *SagaFlow[T]) With(opts ...observability.Option) *SagaFlow[T] {
	cp := *s
	cp.cfg.telemetry = s.cfg.telemetry.With(opts...)
	return &cp
}

// Len returns the number of steps.
func (s *SagaFlow[T]) Len() int { return len(s.steps) }

// Execute runs the steps, compensating on failure.
func (s *SagaFlow[T]) Execute(ctx context.Context, in T) (T, error) {
	if err := doneCause(ctx); err != nil {
		var zero T
		return zero, err
	}
	tracer, traced := s.cfg.telemetry.Tracer()
	var span trace.Span
	if traced {
		ctx, span = observability.StartSpan(ctx, tracer, observability.SpanSaga)
	}
	out, err, panicked := s.run(ctx, in, tracer)
	if span != nil {
		if se, ok := err.(*SagaError); ok {
			span.SetAttributes(attribute.Int(observability.AttrSagaFailedStep, se.Step))
		}
		observability.End(span, err)
	}
	if panicked != nil {
		// The module's panic policy: the completed steps are undone, then
		// the panic goes on to the caller with its own value.
		observability.Log(ctx, s.cfg.telemetry.Log(), slog.LevelError, "saga compensated after a panic",
			slog.String("error", err.Error()))
		panic(panicked.Value)
	}
	return out, err
}

// run runs the steps. When a step or a compensation panicked, panicked is
// the first such panic (the step's if it was one), already compensated.
func (s *SagaFlow[T]) run(ctx context.Context, in T, tracer trace.Tracer) (_ T, _ error, panicked *primitives.PanicError) {
	// inputs[i] is what step i received; inputs[i+1] is what it returned.
	inputs := make([]T, 0, len(s.steps)+1)
	cur := in
	for i, st := range s.steps {
		inputs = append(inputs, cur)
		var (
			out T
			err error
		)
		if err = ctx.Err(); err != nil {
			err = context.Cause(ctx)
		} else if tracer != nil {
			sctx, span := observability.StartSpan(ctx, tracer, s.stepNames[i],
				attribute.Int(observability.AttrSagaStep, i))
			out, err = runGuarded(sctx, st.action, cur)
			observability.End(span, err)
		} else {
			out, err = runGuarded(ctx, st.action, cur)
		}
		if err != nil {
			var zero T
			serr := s.compensate(ctx, i, err, inputs, tracer)
			if pe, ok := err.(*primitives.PanicError); ok {
				return zero, serr, pe
			}
			for _, c := range serr.CompensationErrors {
				if pe, ok := c.Err.(*primitives.PanicError); ok {
					return zero, serr, pe
				}
			}
			return zero, serr, nil
		}
		cur = out
	}
	return cur, nil, nil
}

// compensate undoes steps failed-1 .. 0 and builds the saga's error.
func (s *SagaFlow[T]) compensate(ctx context.Context, failed int, cause error, inputs []T, tracer trace.Tracer) *SagaError {
	serr := &SagaError{Step: failed, Err: cause}
	cctx := context.WithoutCancel(ctx)
	for j := failed - 1; j >= 0; j-- {
		comp := s.steps[j].compensate
		if comp == nil {
			continue
		}
		jctx := context.WithValue(cctx, compensatedOutputKey{}, any(inputs[j+1]))
		var span trace.Span
		if tracer != nil {
			jctx, span = observability.StartSpan(jctx, tracer, s.compNames[j],
				attribute.Int(observability.AttrSagaStep, j))
		}
		_, err := runGuarded(jctx, comp, inputs[j])
		observability.End(span, err)
		if err != nil {
			serr.CompensationErrors = append(serr.CompensationErrors, &CompensationError{Step: j, Err: err})
			continue
		}
		serr.Compensated = append(serr.Compensated, j)
	}
	return serr
}

// runGuarded runs p, returning a panic as a *primitives.PanicError, so the
// saga can compensate before the panic goes on (see Saga).
func runGuarded[T any](ctx context.Context, p primitives.Primitive[T, T], in T) (out T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &primitives.PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return p.Execute(ctx, in)
}

type compensatedOutputKey struct{}

// CompensatedOutput returns, inside a compensation run by [Saga], the
// output that the step being compensated produced (for instance the id of
// the resource to delete). It reports false outside a compensation or when
// T is not the saga's type.
func CompensatedOutput[T any](ctx context.Context) (T, bool) {
	v, ok := ctx.Value(compensatedOutputKey{}).(T)
	return v, ok
}

// SagaError is returned when a saga step failed. It carries the failed
// step, its error, the steps whose compensation succeeded and every
// compensation failure; errors.Is and errors.As reach the step's error and
// each compensation's error.
type SagaError struct {
	// Step is the index (from 0) of the step that failed.
	Step int
	// Err is that step's error (the context's cause when the context was
	// done before the step started).
	Err error
	// Compensated lists, in the order they ran, the steps whose
	// compensation succeeded.
	Compensated []int
	// CompensationErrors lists, in the order they ran, the compensations
	// that failed.
	CompensationErrors []*CompensationError
}

// Error names the failed step and every compensation failure.
func (e *SagaError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "saga: step %d failed: %v", e.Step, e.Err)
	for _, c := range e.CompensationErrors {
		b.WriteString("; ")
		b.WriteString(c.Error())
	}
	return b.String()
}

// Unwrap returns the step's error followed by each *CompensationError.
func (e *SagaError) Unwrap() []error {
	errs := make([]error, 0, 1+len(e.CompensationErrors))
	errs = append(errs, e.Err)
	for _, c := range e.CompensationErrors {
		errs = append(errs, c)
	}
	return errs
}

// CompensationError reports that the compensation of a saga step failed.
type CompensationError struct {
	// Step is the index (from 0) of the step whose compensation failed.
	Step int
	Err  error
}

// Error names the step whose compensation failed.
func (e *CompensationError) Error() string {
	return fmt.Sprintf("compensation of step %d failed: %v", e.Step, e.Err)
}

// Unwrap returns the compensation's error.
func (e *CompensationError) Unwrap() error { return e.Err }
