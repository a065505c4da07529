package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.opentelemetry.io/otel/codes"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
)

var errTransient = errors.New("503 service unavailable")

func TestRetrySucceedsAfterTransientFailures(t *testing.T) {
	f := &flaky{errs: []error{errTransient, errTransient}}
	var events []recovery.RetryEvent
	r := recovery.Retry[int, int](f, recovery.InitialDelay(time.Millisecond),
		recovery.OnRetry(func(e recovery.RetryEvent) { events = append(events, e) }))
	out, err := r.Execute(context.Background(), 4)
	if err != nil || out != 40 {
		t.Fatalf("got %d, %v; want 40, nil", out, err)
	}
	if f.Calls() != 3 {
		t.Fatalf("calls = %d, want 3", f.Calls())
	}
	if len(events) != 2 || events[0].Attempt != 1 || events[1].Attempt != 2 || events[0].Err != errTransient {
		t.Fatalf("events %+v", events)
	}
}

func TestRetryMaxRetriesMeansAttemptsPlusOne(t *testing.T) {
	last := errors.New("still down")
	f := &flaky{errs: []error{errTransient, errTransient, errTransient, last, errTransient}}
	r := recovery.Retry[int, int](f, recovery.MaxRetries(3), recovery.InitialDelay(0))
	if r.MaxAttempts() != 4 {
		t.Fatalf("MaxAttempts = %d", r.MaxAttempts())
	}
	_, err := r.Execute(context.Background(), 1)
	if f.Calls() != 4 {
		t.Fatalf("calls = %d, want 4", f.Calls())
	}
	var re *recovery.RetryError
	if !errors.As(err, &re) {
		t.Fatalf("err %T %v is not a *RetryError", err, err)
	}
	if re.Attempts != 4 || re.Reason != recovery.StopMaxRetries || re.Err != last {
		t.Fatalf("RetryError %+v", re)
	}
	if !errors.Is(err, recovery.ErrRetriesExhausted) || !errors.Is(err, last) {
		t.Fatal("errors.Is does not reach ErrRetriesExhausted and the last error")
	}
	if recovery.IsRetryable(err) {
		t.Fatal("an exhausted retry must not be retryable again")
	}
	want := "retry: gave up after 4 attempts (max retries reached): still down"
	if err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
}

func TestRetryErrorsAsReachesTypedLastError(t *testing.T) {
	r := recovery.Retry(failing(&recovery.TimeoutError{Op: "call", After: time.Second, Transient: true}),
		recovery.MaxRetries(1), recovery.InitialDelay(0))
	_, err := r.Execute(context.Background(), 1)
	var te *recovery.TimeoutError
	if !errors.As(err, &te) || te.Op != "call" {
		t.Fatalf("errors.As did not reach the *TimeoutError: %v", err)
	}
}

func TestRetryZeroRetriesMakesOneAttempt(t *testing.T) {
	f := &flaky{errs: []error{errTransient}}
	_, err := recovery.Retry[int, int](f, recovery.MaxRetries(0)).Execute(context.Background(), 1)
	var re *recovery.RetryError
	if !errors.As(err, &re) || re.Attempts != 1 || f.Calls() != 1 {
		t.Fatalf("err %v, calls %d", err, f.Calls())
	}
}

func TestRetryDefaultPolicyDoesNotRetry(t *testing.T) {
	cases := map[string]error{
		"permanent":                    recovery.Permanent(errors.New("bad request")),
		"invalid input":                &recovery.InvalidInputError{Field: "code", Reason: "empty"},
		"retryable() false":            fmt.Errorf("wrapped: %w", notRetryable{}),
		"context.Canceled":             fmt.Errorf("inner: %w", context.Canceled),
		"code timeout (not transient)": &recovery.TimeoutError{Op: "code execution", Transient: false},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			f := &flaky{errs: []error{want, want, want}}
			_, err := recovery.Retry[int, int](f, recovery.InitialDelay(0)).Execute(context.Background(), 1)
			if err != want {
				t.Fatalf("err = %v, want the error itself, unwrapped", err)
			}
			if f.Calls() != 1 {
				t.Fatalf("calls = %d, want 1", f.Calls())
			}
		})
	}
}

func TestRetryDefaultPolicyRetriesTransient(t *testing.T) {
	cases := map[string]error{
		"unknown":           errors.New("connection reset"),
		"transient marker":  recovery.Transient(errors.New("overloaded"), 0),
		"transient timeout": &recovery.TimeoutError{Op: "timeout", Transient: true},
	}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			f := &flaky{errs: []error{e}}
			out, err := recovery.Retry[int, int](f, recovery.InitialDelay(0)).Execute(context.Background(), 2)
			if err != nil || out != 20 || f.Calls() != 2 {
				t.Fatalf("got %d, %v after %d calls", out, err, f.Calls())
			}
		})
	}
}

func TestRetryIfPredicate(t *testing.T) {
	only429 := func(err error) bool { var h *hintedError; return errors.As(err, &h) }
	f := &flaky{errs: []error{&hintedError{after: time.Millisecond}, errTransient}}
	_, err := recovery.Retry[int, int](f, recovery.RetryIf(only429)).Execute(context.Background(), 1)
	if err != errTransient || f.Calls() != 2 {
		t.Fatalf("err %v after %d calls; want the refused error after 2 calls", err, f.Calls())
	}
}

func TestRetryAfterHintOverridesBackoff(t *testing.T) {
	f := &flaky{errs: []error{&hintedError{after: 30 * time.Millisecond}}}
	var ev recovery.RetryEvent
	r := recovery.Retry[int, int](f, recovery.InitialDelay(10*time.Second), recovery.MaxDelay(time.Minute),
		recovery.OnRetry(func(e recovery.RetryEvent) { ev = e }))
	start := time.Now()
	out, err := r.Execute(context.Background(), 1)
	waited := time.Since(start)
	if err != nil || out != 10 {
		t.Fatalf("got %d, %v", out, err)
	}
	if ev.Delay != 30*time.Millisecond || !ev.FromHint {
		t.Fatalf("event %+v; want the 30ms hint", ev)
	}
	if waited < 30*time.Millisecond {
		t.Fatalf("waited %s, less than the Retry-After hint", waited)
	}
}

func TestRetryAfterHintCappedByMaxDelay(t *testing.T) {
	f := &flaky{errs: []error{recovery.Transient(errors.New("429"), time.Hour)}}
	var ev recovery.RetryEvent
	r := recovery.Retry[int, int](f, recovery.InitialDelay(time.Millisecond), recovery.MaxDelay(5*time.Millisecond),
		recovery.OnRetry(func(e recovery.RetryEvent) { ev = e }))
	if _, err := r.Execute(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if ev.Delay != 5*time.Millisecond || !ev.FromHint {
		t.Fatalf("event %+v; want the hint capped to 5ms", ev)
	}
}

func delaysOf(t *testing.T, retries int, opts ...recovery.RetryOption) []time.Duration {
	t.Helper()
	var delays []time.Duration
	errs := make([]error, retries)
	for i := range errs {
		errs[i] = errTransient
	}
	opts = append(opts, recovery.MaxRetries(retries),
		recovery.OnRetry(func(e recovery.RetryEvent) { delays = append(delays, e.Delay) }))
	if _, err := recovery.Retry[int, int](&flaky{errs: errs}, opts...).Execute(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	return delays
}

func TestRetryStrategies(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name string
		opts []recovery.RetryOption
		want []time.Duration
	}{
		{"exponential", []recovery.RetryOption{recovery.Exponential(), recovery.NoJitter(), recovery.InitialDelay(ms)}, []time.Duration{ms, 2 * ms, 4 * ms, 8 * ms}},
		{"exponential capped", []recovery.RetryOption{recovery.NoJitter(), recovery.InitialDelay(ms), recovery.MaxDelay(3 * ms)}, []time.Duration{ms, 2 * ms, 3 * ms, 3 * ms}},
		{"exponential x3", []recovery.RetryOption{recovery.NoJitter(), recovery.InitialDelay(ms), recovery.Multiplier(3)}, []time.Duration{ms, 3 * ms, 9 * ms, 27 * ms}},
		{"constant", []recovery.RetryOption{recovery.Constant(), recovery.InitialDelay(2 * ms)}, []time.Duration{2 * ms, 2 * ms, 2 * ms, 2 * ms}},
		{"linear", []recovery.RetryOption{recovery.Linear(), recovery.InitialDelay(ms)}, []time.Duration{ms, 2 * ms, 3 * ms, 4 * ms}},
		{"linear capped", []recovery.RetryOption{recovery.Linear(), recovery.InitialDelay(ms), recovery.MaxDelay(3 * ms)}, []time.Duration{ms, 2 * ms, 3 * ms, 3 * ms}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := delaysOf(t, 4, c.opts...)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("delays %v, want %v", got, c.want)
			}
		})
	}
}

func TestRetryJitter(t *testing.T) {
	ms := time.Millisecond
	check := func(t *testing.T, got []time.Duration, nominal func(k int) time.Duration, f float64) {
		t.Helper()
		exact := 0
		for k, d := range got {
			n := nominal(k)
			lo, hi := time.Duration(float64(n)*(1-f)), time.Duration(float64(n)*(1+f))
			if d < lo || d > hi {
				t.Fatalf("delay %d = %s outside [%s, %s]", k, d, lo, hi)
			}
			if d == n {
				exact++
			}
		}
		if exact == len(got) {
			t.Fatalf("every delay equals its nominal value: jitter is off (%v)", got)
		}
	}
	t.Run("exponential default", func(t *testing.T) {
		got := delaysOf(t, 6, recovery.InitialDelay(ms), recovery.MaxDelay(4*ms))
		check(t, got, func(k int) time.Duration { return min(ms<<k, 4*ms) }, recovery.DefaultJitter)
	})
	t.Run("constant with jitter", func(t *testing.T) {
		got := delaysOf(t, 6, recovery.Constant(), recovery.InitialDelay(ms), recovery.Jitter(0.3))
		check(t, got, func(int) time.Duration { return ms }, 0.3)
	})
	t.Run("linear with jitter", func(t *testing.T) {
		got := delaysOf(t, 4, recovery.Linear(), recovery.InitialDelay(ms), recovery.Jitter(0.2))
		check(t, got, func(k int) time.Duration { return time.Duration(k+1) * ms }, 0.2)
	})
}

func TestRetryMaxElapsed(t *testing.T) {
	f := &flaky{errs: make([]error, 100)}
	for i := range f.errs {
		f.errs[i] = errTransient
	}
	r := recovery.Retry[int, int](f, recovery.MaxRetries(100), recovery.Constant(),
		recovery.InitialDelay(10*time.Millisecond), recovery.MaxElapsed(35*time.Millisecond))
	_, err := r.Execute(context.Background(), 1)
	var re *recovery.RetryError
	if !errors.As(err, &re) || re.Reason != recovery.StopMaxElapsed || !errors.Is(err, recovery.ErrRetriesExhausted) {
		t.Fatalf("err %v; want a *RetryError with StopMaxElapsed", err)
	}
	// Waits of 10ms fit at most 3 times into 35ms: at most 4 attempts.
	if re.Attempts < 1 || re.Attempts > 4 || re.Attempts != f.Calls() {
		t.Fatalf("attempts %d, calls %d", re.Attempts, f.Calls())
	}
}

func TestRetryWithCustomBackOff(t *testing.T) {
	f := &flaky{errs: []error{errTransient, errTransient, errTransient}}
	r := recovery.Retry[int, int](f, recovery.MaxRetries(10), recovery.WithBackOff(func() backoff.BackOff {
		return backoff.WithMaxRetries(backoff.NewConstantBackOff(time.Millisecond), 1)
	}))
	_, err := r.Execute(context.Background(), 1)
	var re *recovery.RetryError
	if !errors.As(err, &re) || re.Reason != recovery.StopBackOff || re.Attempts != 2 || f.Calls() != 2 {
		t.Fatalf("err %v, calls %d; want StopBackOff after 2 attempts", err, f.Calls())
	}
}

func TestRetryCancelAbortsWaitAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &flaky{errs: []error{errTransient, errTransient}}
	// A one-hour wait: the test only ends if cancellation interrupts it.
	r := recovery.Retry[int, int](f, recovery.Constant(), recovery.InitialDelay(time.Hour), recovery.MaxDelay(time.Hour),
		recovery.OnRetry(func(recovery.RetryEvent) {
			go func() { time.Sleep(5 * time.Millisecond); cancel() }()
		}))
	_, err := r.Execute(ctx, 1)
	var re *recovery.RetryError
	if !errors.As(err, &re) || re.Reason != recovery.StopCanceled || re.Attempts != 1 {
		t.Fatalf("err %v; want a *RetryError with StopCanceled after 1 attempt", err)
	}
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errTransient) {
		t.Fatal("the error must match both the context's error and the last error")
	}
	if errors.Is(err, recovery.ErrRetriesExhausted) {
		t.Fatal("a cancelled retry did not exhaust its retries")
	}
	if f.Calls() != 1 {
		t.Fatalf("calls = %d", f.Calls())
	}
}

func TestRetryDeadlineEndsWait(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	r := recovery.Retry(failing(errTransient), recovery.Constant(), recovery.InitialDelay(time.Hour), recovery.MaxDelay(time.Hour))
	_, err := r.Execute(ctx, 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v; want it to match context.DeadlineExceeded", err)
	}
}

func TestRetryNeverRetriesCallerCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	p := primitives.Func[int, int](func(context.Context, int) (int, error) {
		calls.Add(1)
		cancel() // the caller gives up while the attempt runs
		return 0, errTransient
	})
	always := func(error) bool { return true }
	_, err := recovery.Retry(p, recovery.RetryIf(always), recovery.InitialDelay(0)).Execute(ctx, 1)
	if err != errTransient || calls.Load() != 1 {
		t.Fatalf("err %v after %d calls; want the attempt's error after 1 call", err, calls.Load())
	}
}

func TestRetryAlreadyCancelledContextWithZeroDelay(t *testing.T) {
	// A custom predicate that retries context errors must still stop.
	// (A context already done before the first attempt is covered by
	// TestCancelledContextIsHonouredBeforeTheFirstCall: no attempt runs.)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	p := primitives.Func[int, int](func(ctx context.Context, int2 int) (int, error) {
		calls.Add(1)
		cancel()
		return 0, ctx.Err()
	})
	_, err := recovery.Retry(p, recovery.RetryIf(func(error) bool { return true })).Execute(ctx, 1)
	if !errors.Is(err, context.Canceled) || calls.Load() != 1 {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
}

func TestRetrySpans(t *testing.T) {
	rec, tp := newRecorder(t)
	f := &flaky{errs: []error{errTransient, errTransient}}
	r := recovery.Retry[int, int](f, recovery.Constant(), recovery.InitialDelay(3*time.Millisecond), observability.WithTracerProvider(tp))
	if _, err := r.Execute(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	root := spanByName(t, rec, "retry")
	if root.Status().Code != codes.Ok {
		t.Fatalf("retry span status %v", root.Status())
	}
	scheduled := 0
	for _, e := range root.Events() {
		if e.Name == "retry.scheduled" {
			scheduled++
		}
	}
	if scheduled != 2 {
		t.Fatalf("%d retry.scheduled events, want 2", scheduled)
	}
	wantDelay := []int64{0, 3, 3}
	wantCode := []codes.Code{codes.Error, codes.Error, codes.Ok}
	for n := 1; n <= 3; n++ {
		s := spanByName(t, rec, fmt.Sprintf("retry.attempt_%d", n))
		if s.Parent().SpanID() != root.SpanContext().SpanID() {
			t.Fatalf("attempt %d is not a child of the retry span", n)
		}
		if v, _ := attr(s, "retry.attempt"); v.AsInt64() != int64(n) {
			t.Fatalf("attempt %d has retry.attempt=%v", n, v.AsInt64())
		}
		if v, ok := attr(s, "retry.delay_ms"); !ok || v.AsInt64() != wantDelay[n-1] {
			t.Fatalf("attempt %d has retry.delay_ms=%v, want %d", n, v.AsInt64(), wantDelay[n-1])
		}
		if s.Status().Code != wantCode[n-1] {
			t.Fatalf("attempt %d status %v", n, s.Status())
		}
	}
	if len(rec.Ended()) != 4 {
		t.Fatalf("%d spans, want 4", len(rec.Ended()))
	}
}

func TestRetryConcurrentUse(t *testing.T) {
	// Each input fails twice then succeeds; one Retrier serves all.
	var mu sync.Mutex
	seen := map[int]int{}
	p := primitives.Func[int, int](func(_ context.Context, n int) (int, error) {
		mu.Lock()
		seen[n]++
		c := seen[n]
		mu.Unlock()
		if c <= 2 {
			return 0, errTransient
		}
		return n, nil
	})
	var hooks atomic.Int32
	r := recovery.Retry(p, recovery.InitialDelay(time.Microsecond), recovery.OnRetry(func(recovery.RetryEvent) { hooks.Add(1) }))
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			out, err := r.Execute(context.Background(), i)
			if err != nil || out != i {
				t.Errorf("input %d: %d, %v", i, out, err)
			}
		})
	}
	wg.Wait()
	if hooks.Load() != 128 {
		t.Fatalf("%d retries, want 128", hooks.Load())
	}
}
