package recovery_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
)

// Every primitive of the package honours a context that is already done
// before it calls anything: the wrapped primitive does not run, and the
// context's cause comes back.
func TestCancelledContextIsHonouredBeforeTheFirstCall(t *testing.T) {
	var calls atomic.Int64
	work := primitives.Func[int, int](func(context.Context, int) (int, error) {
		calls.Add(1)
		return 1, nil
	})
	quiet := observability.WithLogger(slog.New(slog.DiscardHandler))
	cases := map[string]primitives.Primitive[int, int]{
		"Retry":          recovery.Retry(work, recovery.InitialDelay(0)),
		"Fallback":       recovery.Fallback(work, work),
		"Timeout":        recovery.Timeout(work, time.Minute),
		"TimeoutAbandon": recovery.Timeout(work, time.Minute, recovery.AbandonOnDeadline()),
		"CircuitBreaker": recovery.CircuitBreaker(work, quiet),
		"Saga":           recovery.Saga(recovery.Step(work, nil)),
	}
	stop := errors.New("caller gave up")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(stop)
	for name, prim := range cases {
		for _, traced := range []bool{false, true} {
			p := prim
			if traced {
				p = tracedVariant(t, name, work)
			}
			calls.Store(0)
			_, err := p.Execute(ctx, 1)
			if !errors.Is(err, stop) {
				t.Errorf("%s (traced=%v): err %v; want the context's cause", name, traced, err)
			}
			if n := calls.Load(); n != 0 {
				t.Errorf("%s (traced=%v): wrapped primitive ran %d times on a done context", name, traced, n)
			}
		}
	}
}

func tracedVariant(t *testing.T, name string, work primitives.Primitive[int, int]) primitives.Primitive[int, int] {
	_, tp := newRecorder(t)
	tr := observability.WithTracerProvider(tp)
	quiet := observability.WithLogger(slog.New(slog.DiscardHandler))
	switch name {
	case "Retry":
		return recovery.Retry(work, recovery.InitialDelay(0), tr)
	case "Fallback":
		return recovery.Fallback(work, work).With(tr)
	case "Timeout":
		return recovery.Timeout(work, time.Minute, tr)
	case "TimeoutAbandon":
		return recovery.Timeout(work, time.Minute, recovery.AbandonOnDeadline(), tr)
	case "CircuitBreaker":
		return recovery.CircuitBreaker(work, quiet, tr)
	case "Saga":
		return recovery.Saga(recovery.Step(work, nil)).With(tr)
	}
	t.Fatalf("no traced variant for %s", name)
	return nil
}

// A half-open circuit must not spend its trial slot on a call whose
// context is already done.
func TestBreakerDoneContextDoesNotTakeATrialSlot(t *testing.T) {
	clock := newManualClock()
	dep := &switchable{}
	dep.fail.Store(true)
	b := recovery.CircuitBreaker[int, int](dep, recovery.FailureThreshold(1), recovery.RecoveryTimeout(time.Second),
		recovery.SuccessThreshold(1), recovery.WithClock(clock), observability.WithLogger(slog.New(slog.DiscardHandler)))
	_, _ = b.Execute(context.Background(), 0)
	clock.Advance(time.Second)
	dep.fail.Store(false)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Execute(done, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v; want context.Canceled", err)
	}
	if _, err := b.Execute(context.Background(), 0); err != nil {
		t.Fatalf("trial call after a cancelled one: %v", err)
	}
	if b.State() != recovery.StateClosed {
		t.Fatalf("state %s; want closed", b.State())
	}
}
