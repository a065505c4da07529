package recovery

import (
	"context"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

// Retry returns a primitive that runs p and, when an attempt fails with an
// error the predicate ([RetryIf], default [IsRetryable]) accepts, waits
// and tries again, up to [MaxRetries] retries (default 3, so 4 attempts).
// It panics at construction when p is nil or an option is nil or invalid.
//
// The waits follow the strategy ([Exponential] with jitter by default,
// [Constant], [Linear] or [WithBackOff]), each capped by [MaxDelay]. An
// error carrying a Retry-After hint ([RetryAfterHinter], see [RetryAfter])
// replaces the computed wait by the hint, still capped by MaxDelay.
//
// The context is checked before each attempt starts.
//
// What comes back:
//   - the context's cause (context.Cause), without any attempt, when the
//     context is already done when Execute is called;
//   - the output of the first attempt that succeeds;
//   - the error itself, unwrapped, when the predicate refuses it or when
//     the caller's context is done once an attempt has failed (the
//     caller's cancellation is never retried);
//   - a *RetryError (matching [ErrRetriesExhausted]) wrapping the last
//     error when the attempts, MaxElapsed or the backoff run out;
//   - a *RetryError with Reason [StopCanceled], matching the context's
//     error, when the caller's context ends a wait (the wait stops at once)
//     or is done when the wait ends.
//
// Cost: on the happy path Retry adds a check for an installed tracer and
// one interface call, and allocates nothing; the backoff state is built on
// the first failure only. When a tracer provider is installed, Execute runs
// in a "retry" span with one "retry.attempt_<n>" child span per attempt,
// carrying the attempt number and the wait that preceded it
// (retry.delay_ms).
//
// The returned *Retrier is safe for concurrent use if p is.
//
// Invariants (docs/architecture.md): all hold. Retry never makes an
// attempt once its own context is done, whatever the error says; a panic
// is never retried (on this goroutine it goes on to the caller; a
// recovered *primitives.PanicError is not retryable); its *RetryError is
// not retryable, so nested Retries do not multiply attempts, and it keeps
// the last error's Retry-After reachable.
func Retry[In, Out any](p primitives.Primitive[In, Out], opts ...RetryOption) *Retrier[In, Out] {
	if primitives.IsNil(p) {
		panic("recovery: Retry: primitive is nil")
	}
	return &Retrier[In, Out]{p: p, cfg: newRetryConfig(opts)}
}

// Retrier is the primitive built by [Retry]. It is safe for concurrent use
// if the wrapped primitive is.
type Retrier[In, Out any] struct {
	p   primitives.Primitive[In, Out]
	cfg retryConfig
}

// MaxAttempts returns the maximum number of attempts (MaxRetries + 1).
func (r *Retrier[In, Out]) MaxAttempts() int { return r.cfg.maxRetries + 1 }

// Execute runs the attempts.
func (r *Retrier[In, Out]) Execute(ctx context.Context, in In) (Out, error) {
	if err := doneCause(ctx); err != nil {
		var zero Out
		return zero, err
	}
	if tracer, ok := r.cfg.telemetry.Tracer(); ok {
		return r.executeTraced(ctx, in, tracer)
	}
	var start time.Time
	if r.cfg.maxElapsed > 0 {
		start = r.cfg.clock.Now()
	}
	out, err := r.p.Execute(ctx, in)
	if err == nil {
		return out, nil
	}
	return r.retry(ctx, in, err, start, nil, nil)
}

func (r *Retrier[In, Out]) executeTraced(ctx context.Context, in In, tracer trace.Tracer) (Out, error) {
	start := r.cfg.clock.Now()
	rctx, span := observability.StartSpan(ctx, tracer, observability.SpanRetry)
	out, err := r.attemptTraced(rctx, in, tracer, 1, 0)
	if err == nil {
		observability.End(span, nil)
		return out, nil
	}
	out, err = r.retry(rctx, in, err, start, tracer, span)
	observability.End(span, err)
	return out, err
}

func (r *Retrier[In, Out]) attemptTraced(ctx context.Context, in In, tracer trace.Tracer, n int, delay time.Duration) (Out, error) {
	actx, span := observability.StartSpan(ctx, tracer, observability.AttemptSpan(n),
		attribute.Int(observability.AttrAttempt, n),
		attribute.Int64(observability.AttrDelay, delay.Milliseconds()))
	out, err := r.p.Execute(actx, in)
	observability.End(span, err)
	return out, err
}

// retry runs attempts 2.. after attempt 1 failed with err. tracer and span
// are nil when tracing is off.
func (r *Retrier[In, Out]) retry(ctx context.Context, in In, err error, start time.Time, tracer trace.Tracer, span trace.Span) (Out, error) {
	var (
		zero    Out
		waits   waitSeq
		started bool
		timer   *time.Timer
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil || !r.cfg.retryIf(err) {
			return zero, err
		}
		if attempt > r.cfg.maxRetries {
			return zero, &RetryError{Attempts: attempt, Reason: StopMaxRetries, Err: err}
		}
		if !started {
			waits.start(&r.cfg)
			started = true
		}
		delay := waits.next()
		if delay == backoff.Stop {
			return zero, &RetryError{Attempts: attempt, Reason: StopBackOff, Err: err}
		}
		hinted := false
		if hint := RetryAfter(err); hint > 0 {
			delay, hinted = hint, true
		}
		delay = min(max(delay, 0), r.cfg.maxDelay)
		if r.cfg.maxElapsed > 0 && r.cfg.clock.Now().Sub(start)+delay > r.cfg.maxElapsed {
			return zero, &RetryError{Attempts: attempt, Reason: StopMaxElapsed, Err: err}
		}
		if r.cfg.onRetry != nil {
			r.cfg.onRetry(RetryEvent{Attempt: attempt, Err: err, Delay: delay, FromHint: hinted})
		}
		if span != nil {
			span.AddEvent(observability.EventRetryScheduled, trace.WithAttributes(
				attribute.Int(observability.AttrAttempt, attempt+1),
				attribute.Int64(observability.AttrDelay, delay.Milliseconds())))
		}
		if logger := r.cfg.telemetry.Log(); logger.Enabled(ctx, slog.LevelDebug) {
			observability.Log(ctx, logger, slog.LevelDebug, "retrying after failure",
				slog.Int(observability.AttrAttempt, attempt),
				slog.Duration("retry.delay", delay),
				slog.String("error", err.Error()))
		}
		if delay > 0 {
			var fired <-chan time.Time
			if r.cfg.clock == SystemClock {
				if timer == nil {
					timer = time.NewTimer(delay)
				} else {
					timer.Reset(delay)
				}
				fired = timer.C
			} else {
				fired = r.cfg.clock.After(delay)
			}
			select {
			case <-ctx.Done():
				return zero, &RetryError{Attempts: attempt, Reason: StopCanceled, Err: err, Cause: context.Cause(ctx)}
			case <-fired:
			}
		}
		if ctx.Err() != nil {
			return zero, &RetryError{Attempts: attempt, Reason: StopCanceled, Err: err, Cause: context.Cause(ctx)}
		}
		var out Out
		if tracer != nil {
			out, err = r.attemptTraced(ctx, in, tracer, attempt+1, delay)
		} else {
			out, err = r.p.Execute(ctx, in)
		}
		if err == nil {
			return out, nil
		}
	}
}
