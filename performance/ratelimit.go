package performance

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

type rateLimitConfig struct {
	wait      bool
	maxWait   time.Duration // with wait: 0 = as long as the context allows
	name      string
	telemetry observability.Providers
}

// RateLimitPrimitive lets calls of an inner primitive through at a bounded
// rate. Build it with [RateLimit]. It is safe for concurrent use.
type RateLimitPrimitive[In, Out any] struct {
	inner     primitives.Primitive[In, Out]
	limiter   *rate.Limiter
	wait      bool
	maxWait   time.Duration
	rejected  atomic.Uint64
	telemetry observability.Providers
	nameAttr  attribute.KeyValue
	attrs     metric.MeasurementOption
	rejects   metric.Int64Counter
}

// RateLimit returns a primitive that lets calls of p through at limit per
// second on average with bursts of up to burst calls (a token bucket from
// golang.org/x/time/rate; rate.Every(d) converts an interval). A call for
// which no token is available
//   - fails at once with a *[RateLimitedError] whose RetryAfter says when a
//     token will be (the default; recovery.Retry waits exactly that long),
//   - with [Wait], waits for its token while its context allows: it fails
//     at once when its deadline comes before the token, and returns the
//     context's error (giving its token back) when cancelled while waiting,
//   - with [MaxWait](d), waits when the token comes within d and fails at
//     once otherwise.
//
// A call that finds a token costs one limiter lock (about 80 ns) and
// does not allocate. When tracing is installed each call is a span
// "rate_limit" with the wait in "limit.wait_ms"; refusals are counted in
// the metric rate_limit_rejected_total.
//
// RateLimit panics when p is nil, limit is not positive (rate.Inf is
// allowed), burst < 1 with a finite limit, or an option is nil or invalid.
//
// Invariants (docs/architecture.md): all hold. A done context returns its
// cause without taking a token; a call cancelled while waiting gives its
// token back; a panic of p goes on to the caller; errors pass unchanged.
func RateLimit[In, Out any](p primitives.Primitive[In, Out], limit rate.Limit, burst int, opts ...RateLimitOption) *RateLimitPrimitive[In, Out] {
	if primitives.IsNil(p) {
		panic("performance: RateLimit: primitive is nil")
	}
	if math.IsNaN(float64(limit)) || limit <= 0 {
		panic(fmt.Sprintf("performance: RateLimit: limit must be > 0, got %v", float64(limit)))
	}
	if burst < 1 && limit != rate.Inf {
		panic(fmt.Sprintf("performance: RateLimit: burst must be >= 1, got %d", burst))
	}
	cfg := rateLimitConfig{name: "rate_limit"}
	applyOptions("RateLimit", opts, &cfg.telemetry, &cfg.name, func(o RateLimitOption) bool {
		switch o := o.(type) {
		case rateLimitOptionFunc:
			o(&cfg)
		case maxWaitOption:
			cfg.maxWait, cfg.wait = o.d, true
		default:
			return false
		}
		return true
	})
	r := &RateLimitPrimitive[In, Out]{
		inner:     p,
		limiter:   rate.NewLimiter(limit, burst),
		wait:      cfg.wait,
		maxWait:   cfg.maxWait,
		telemetry: cfg.telemetry,
		nameAttr:  attribute.String(observability.AttrLimitName, cfg.name),
	}
	r.attrs = metric.WithAttributeSet(attribute.NewSet(r.nameAttr))
	r.rejects, _ = cfg.telemetry.Meter().Int64Counter(observability.MetricRateLimitRejected,
		metric.WithDescription("Calls a rate limit refused."))
	return r
}

// Execute runs the inner primitive when a token is available, or waits or
// fails as described on [RateLimit].
func (r *RateLimitPrimitive[In, Out]) Execute(ctx context.Context, in In) (out Out, err error) {
	if _, traced := r.telemetry.Tracer(); traced {
		var span trace.Span
		ctx, span = r.telemetry.StartSpan(ctx, observability.SpanRateLimit, r.nameAttr)
		defer func() { observability.End(span, err) }()
		start := time.Now()
		if err = r.acquire(ctx); err != nil {
			return out, err
		}
		span.SetAttributes(attribute.Float64(observability.AttrLimitWaitMS, float64(time.Since(start))/float64(time.Millisecond)))
		return r.inner.Execute(ctx, in)
	}
	if err = r.acquire(ctx); err != nil {
		return out, err
	}
	return r.inner.Execute(ctx, in)
}

// acquire takes a token, waiting when configured to.
func (r *RateLimitPrimitive[In, Out]) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if r.limiter.Allow() {
		return nil
	}
	now := time.Now()
	res := r.limiter.ReserveN(now, 1)
	if !res.OK() {
		return r.reject(ctx, rate.InfDuration)
	}
	delay := res.DelayFrom(now)
	if delay == 0 {
		return nil
	}
	if !r.wait || (r.maxWait > 0 && delay > r.maxWait) {
		res.CancelAt(now)
		return r.reject(ctx, delay)
	}
	if deadline, ok := ctx.Deadline(); ok && now.Add(delay).After(deadline) {
		res.CancelAt(now)
		return r.reject(ctx, delay)
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		res.Cancel()
		return context.Cause(ctx)
	}
}

func (r *RateLimitPrimitive[In, Out]) reject(ctx context.Context, delay time.Duration) error {
	r.rejected.Add(1)
	if r.rejects != nil {
		r.rejects.Add(ctx, 1, r.attrs)
	}
	return &RateLimitedError{Delay: delay}
}

// Rejected returns how many calls were refused since construction.
func (r *RateLimitPrimitive[In, Out]) Rejected() uint64 { return r.rejected.Load() }

// Limiter returns the underlying token bucket, for instance to change its
// rate at run time with SetLimit. It is safe for concurrent use.
func (r *RateLimitPrimitive[In, Out]) Limiter() *rate.Limiter { return r.limiter }
