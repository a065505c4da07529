package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
)

// switchable succeeds or fails according to a flag, counting calls.
type switchable struct {
	fail  atomic.Bool
	calls atomic.Int64
}

func (s *switchable) Execute(context.Context, int) (int, error) {
	s.calls.Add(1)
	if s.fail.Load() {
		return 0, errBench
	}
	return 1, nil
}

type transitions struct {
	mu  sync.Mutex
	all []recovery.StateChange
}

func (tr *transitions) hook(c recovery.StateChange) {
	tr.mu.Lock()
	tr.all = append(tr.all, c)
	tr.mu.Unlock()
}

func (tr *transitions) String() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	s := ""
	for _, c := range tr.all {
		s += fmt.Sprintf("%s->%s ", c.From, c.To)
	}
	return s
}

func TestBreakerOpensAfterConsecutiveFailuresAndFailsFast(t *testing.T) {
	clock := newManualClock()
	dep := &switchable{}
	dep.fail.Store(true)
	var tr transitions
	b := recovery.CircuitBreaker[int, int](dep, recovery.FailureThreshold(3), recovery.RecoveryTimeout(time.Minute),
		recovery.WithClock(clock), recovery.OnStateChange(tr.hook))
	ctx := context.Background()
	for i := range 3 {
		if b.State() != recovery.StateClosed {
			t.Fatalf("open after %d failures", i)
		}
		if _, err := b.Execute(ctx, 0); err != errBench {
			t.Fatalf("call %d: err %v; want the dependency's error unchanged", i, err)
		}
	}
	if b.State() != recovery.StateOpen {
		t.Fatalf("state %s after 3 failures", b.State())
	}
	clock.Advance(20 * time.Second)
	_, err := b.Execute(ctx, 0)
	var oe *recovery.OpenError
	if !errors.As(err, &oe) || !errors.Is(err, recovery.ErrCircuitOpen) {
		t.Fatalf("err %v; want *OpenError", err)
	}
	if oe.Remaining != 40*time.Second || recovery.RetryAfter(err) != 40*time.Second || !recovery.IsRetryable(err) {
		t.Fatalf("OpenError %+v; want 40s remaining, retryable after it", oe)
	}
	if dep.calls.Load() != 3 {
		t.Fatalf("dependency called %d times; an open circuit must not call it", dep.calls.Load())
	}
	if got := tr.String(); got != "closed->open " {
		t.Fatalf("transitions %q", got)
	}
	if err.Error() != "circuit breaker is open: trial calls in 40s" {
		t.Fatalf("message %q", err.Error())
	}
}

func TestBreakerSuccessResetsConsecutiveCount(t *testing.T) {
	dep := &switchable{}
	b := recovery.CircuitBreaker[int, int](dep, recovery.FailureThreshold(3))
	ctx := context.Background()
	for range 5 {
		dep.fail.Store(true)
		_, _ = b.Execute(ctx, 0)
		_, _ = b.Execute(ctx, 0)
		dep.fail.Store(false)
		_, _ = b.Execute(ctx, 0)
	}
	if b.State() != recovery.StateClosed {
		t.Fatalf("state %s; never 3 failures in a row", b.State())
	}
	dep.fail.Store(true)
	for range 3 {
		_, _ = b.Execute(ctx, 0)
	}
	if b.State() != recovery.StateOpen {
		t.Fatalf("state %s after 3 failures in a row", b.State())
	}
}

func TestBreakerFullCycle(t *testing.T) {
	clock := newManualClock()
	start := clock.Now()
	dep := &switchable{}
	dep.fail.Store(true)
	var tr transitions
	b := recovery.CircuitBreaker[int, int](dep, recovery.FailureThreshold(2), recovery.RecoveryTimeout(10*time.Second),
		recovery.SuccessThreshold(2), recovery.WithClock(clock), recovery.OnStateChange(tr.hook))
	ctx := context.Background()
	_, _ = b.Execute(ctx, 0)
	_, _ = b.Execute(ctx, 0) // opens at t=0

	clock.Advance(10 * time.Second)
	if b.State() != recovery.StateHalfOpen {
		t.Fatalf("state %s after the recovery time", b.State())
	}
	// A trial failure opens it again, for a fresh recovery time.
	if _, err := b.Execute(ctx, 0); err != errBench {
		t.Fatalf("trial call: %v", err)
	}
	if b.State() != recovery.StateOpen {
		t.Fatalf("state %s after a half-open failure", b.State())
	}
	clock.Advance(9 * time.Second)
	if _, err := b.Execute(ctx, 0); !errors.Is(err, recovery.ErrCircuitOpen) {
		t.Fatalf("err %v; the recovery time restarts at reopening", err)
	}
	clock.Advance(time.Second)
	dep.fail.Store(false)
	if _, err := b.Execute(ctx, 0); err != nil { // first trial success
		t.Fatal(err)
	}
	if b.State() != recovery.StateHalfOpen {
		t.Fatalf("state %s after 1 of 2 successes", b.State())
	}
	if _, err := b.Execute(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if b.State() != recovery.StateClosed {
		t.Fatalf("state %s after 2 successes", b.State())
	}
	want := "closed->open open->half-open half-open->open open->half-open half-open->closed "
	if got := tr.String(); got != want {
		t.Fatalf("transitions %q, want %q", got, want)
	}
	tr.mu.Lock()
	at := tr.all[2].At.Sub(start)
	tr.mu.Unlock()
	if at != 10*time.Second {
		t.Fatalf("reopening at %s on the breaker clock, want 10s", at)
	}
}

func TestBreakerHalfOpenLimitsConcurrentTrials(t *testing.T) {
	clock := newManualClock()
	var failMode atomic.Bool
	failMode.Store(true)
	release := make(chan struct{})
	var inside atomic.Int32
	dep := primitives.Func[int, int](func(context.Context, int) (int, error) {
		if failMode.Load() {
			return 0, errBench
		}
		inside.Add(1)
		<-release
		return 1, nil
	})
	b := recovery.CircuitBreaker(dep, recovery.FailureThreshold(1), recovery.RecoveryTimeout(time.Second),
		recovery.HalfOpenMaxCalls(3), recovery.SuccessThreshold(3), recovery.WithClock(clock))
	_, _ = b.Execute(context.Background(), 0)
	failMode.Store(false)
	clock.Advance(time.Second)

	const callers = 100
	var rejected atomic.Int32
	var wg sync.WaitGroup
	results := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			_, err := b.Execute(context.Background(), 0)
			var oe *recovery.OpenError
			if errors.As(err, &oe) {
				if oe.State != recovery.StateHalfOpen || oe.Remaining != 0 {
					t.Errorf("OpenError %+v", oe)
				}
				rejected.Add(1)
			}
			results <- err
		})
	}
	// All but the admitted trial calls come back at once, rejected.
	for range callers - 3 {
		if err := <-results; !errors.Is(err, recovery.ErrCircuitOpen) {
			t.Fatalf("err %v; want a fast rejection", err)
		}
	}
	close(release)
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Fatalf("trial call failed: %v", err)
		}
	}
	if inside.Load() != 3 || rejected.Load() != callers-3 {
		t.Fatalf("%d trial calls, %d rejected; want 3 and %d", inside.Load(), rejected.Load(), callers-3)
	}
	if b.State() != recovery.StateClosed {
		t.Fatalf("state %s after 3 successful trials", b.State())
	}
}

func TestBreakerFailureRatio(t *testing.T) {
	clock := newManualClock()
	dep := &switchable{}
	b := recovery.CircuitBreaker[int, int](dep, recovery.FailureRatio(0.5, 10, 10*time.Second), recovery.WithClock(clock))
	ctx := context.Background()
	call := func(fail bool) {
		dep.fail.Store(fail)
		_, _ = b.Execute(ctx, 0)
	}
	// 6 failures in a row do not open it: the ratio rule replaces the
	// consecutive one, and fewer than 10 calls were made.
	for range 6 {
		call(true)
	}
	if b.State() != recovery.StateClosed {
		t.Fatal("opened before minCalls")
	}
	// Those failures slide out of the window.
	clock.Advance(11 * time.Second)
	for range 6 {
		call(false)
	}
	for range 3 {
		call(true)
	}
	if b.State() != recovery.StateClosed {
		t.Fatal("opened at 3/9")
	}
	call(false) // 3/10
	call(true)  // 4/11
	if b.State() != recovery.StateClosed {
		t.Fatal("opened at 4/11")
	}
	call(true) // 5/12
	call(true) // 6/13
	if b.State() != recovery.StateClosed {
		t.Fatal("opened at 6/13")
	}
	call(true) // 7/14 = 0.5
	if b.State() != recovery.StateOpen {
		t.Fatalf("state %s at 7 failures of 14 calls", b.State())
	}
}

func TestBreakerRatioAndThresholdTogether(t *testing.T) {
	dep := &switchable{}
	dep.fail.Store(true)
	b := recovery.CircuitBreaker[int, int](dep, recovery.FailureRatio(0.9, 100, time.Minute), recovery.FailureThreshold(2))
	_, _ = b.Execute(context.Background(), 0)
	_, _ = b.Execute(context.Background(), 0)
	if b.State() != recovery.StateOpen {
		t.Fatal("the explicit FailureThreshold rule did not open the circuit")
	}
}

func TestBreakerFailureIf(t *testing.T) {
	bad := &recovery.InvalidInputError{Reason: "empty"}
	b := recovery.CircuitBreaker(failing(bad), recovery.FailureThreshold(1))
	for range 5 {
		_, _ = b.Execute(context.Background(), 0)
	}
	if b.State() != recovery.StateClosed {
		t.Fatal("bad input opened the circuit by default")
	}
	only5xx := recovery.FailureIf(func(err error) bool { return !errors.Is(err, errBench) })
	b2 := recovery.CircuitBreaker(failing(errBench), recovery.FailureThreshold(1), only5xx)
	_, _ = b2.Execute(context.Background(), 0)
	if b2.State() != recovery.StateClosed {
		t.Fatal("an error the predicate refuses opened the circuit")
	}
}

func TestBreakerIgnoresCallerCancellation(t *testing.T) {
	b := recovery.CircuitBreaker(waitForCancel, recovery.FailureThreshold(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 3 {
		if _, err := b.Execute(ctx, 0); !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	}
	if b.State() != recovery.StateClosed {
		t.Fatal("the caller's cancellation opened the circuit")
	}
	// The caller's deadline does count: the dependency was too slow.
	dctx, dcancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer dcancel()
	_, _ = b.Execute(dctx, 0)
	if b.State() != recovery.StateOpen {
		t.Fatal("a slow dependency did not count as a failure")
	}
}

func TestBreakerStateChangeSpanEvent(t *testing.T) {
	rec, tp := newRecorder(t)
	b := recovery.CircuitBreaker(failing(errBench), recovery.FailureThreshold(1), observability.WithTracerProvider(tp))
	_, _ = b.Execute(context.Background(), 0)
	_, err := b.Execute(context.Background(), 0)
	if !errors.Is(err, recovery.ErrCircuitOpen) {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	first, second := spans[0], spans[1]
	if first.Name() != "circuit_breaker" {
		t.Fatalf("span %q", first.Name())
	}
	if v, _ := attr(first, "circuit_breaker.state"); v.AsString() != "closed" {
		t.Fatalf("first call state %q", v.AsString())
	}
	if v, _ := attr(second, "circuit_breaker.state"); v.AsString() != "open" {
		t.Fatalf("second call state %q", v.AsString())
	}
	var ev []string
	for _, e := range first.Events() {
		if e.Name == "circuit_breaker.state_change" {
			from, to := "", ""
			for _, kv := range e.Attributes {
				switch kv.Key {
				case "circuit_breaker.from":
					from = kv.Value.AsString()
				case "circuit_breaker.to":
					to = kv.Value.AsString()
				}
			}
			ev = append(ev, from+"->"+to)
		}
	}
	if fmt.Sprint(ev) != "[closed->open]" {
		t.Fatalf("state change events %v", ev)
	}
}

// TestBreakerHeavyConcurrency hammers one breaker from hundreds of
// goroutines while the dependency flips between healthy and failing, with a
// real clock and a short recovery time. Under the race detector it checks
// the transitions form one valid chain and every call is accounted for.
func TestBreakerHeavyConcurrency(t *testing.T) {
	var tr transitions
	var depCalls atomic.Int64
	var attempts atomic.Int64
	// The dependency alternates between healthy and mostly failing phases
	// of 3000 calls (counted at the callers, so phases also pass while the
	// circuit is open).
	unhealthy := func() bool { return attempts.Load()/3000%2 == 1 }
	dep := primitives.Func[int, int](func(context.Context, int) (int, error) {
		depCalls.Add(1)
		if unhealthy() && rand.IntN(4) != 0 {
			return 0, errBench
		}
		return 1, nil
	})
	b := recovery.CircuitBreaker(dep, recovery.FailureThreshold(5), recovery.RecoveryTimeout(200*time.Microsecond),
		recovery.SuccessThreshold(2), recovery.HalfOpenMaxCalls(2), recovery.OnStateChange(tr.hook),
		observability.WithLogger(slog.New(slog.DiscardHandler)))

	const goroutines, calls = 300, 200
	var rejected, succeeded, failed atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for i := range calls {
				attempts.Add(1)
				_, err := b.Execute(context.Background(), i)
				switch {
				case err == nil:
					succeeded.Add(1)
				case errors.Is(err, recovery.ErrCircuitOpen):
					rejected.Add(1)
				case errors.Is(err, errBench):
					failed.Add(1)
				default:
					t.Errorf("unexpected error %v", err)
				}
				_ = b.State()
			}
		})
	}
	wg.Wait()
	if total := rejected.Load() + succeeded.Load() + failed.Load(); total != goroutines*calls {
		t.Fatalf("%d results for %d calls", total, goroutines*calls)
	}
	if depCalls.Load() != succeeded.Load()+failed.Load() {
		t.Fatalf("dependency called %d times but %d calls went through", depCalls.Load(), succeeded.Load()+failed.Load())
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.all) == 0 {
		t.Fatal("the circuit never changed state")
	}
	prev := recovery.StateClosed
	for i, c := range tr.all {
		if c.From != prev || c.From == c.To {
			t.Fatalf("transition %d %s->%s follows state %s", i, c.From, c.To, prev)
		}
		valid := (c.From == recovery.StateClosed && c.To == recovery.StateOpen) ||
			(c.From == recovery.StateOpen && c.To == recovery.StateHalfOpen) ||
			(c.From == recovery.StateHalfOpen && c.To != recovery.StateHalfOpen)
		if !valid {
			t.Fatalf("invalid transition %s->%s", c.From, c.To)
		}
		prev = c.To
	}
	t.Logf("%d transitions; %d ok, %d failed, %d rejected", len(tr.all), succeeded.Load(), failed.Load(), rejected.Load())
}
