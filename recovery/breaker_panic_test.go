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

// A trial call that panics must not leave the half-open circuit waiting
// forever for a result: the panic counts as a failure and reopens it.
// Parallel turns a branch's panic into an error, so the process goes on
// and the breaker must stay usable.
func TestBreakerPanickingTrialCallReopensCircuit(t *testing.T) {
	clock := newManualClock()
	var mode atomic.Int32 // 0 fail, 1 panic, 2 succeed
	dep := primitives.Func[int, int](func(context.Context, int) (int, error) {
		switch mode.Load() {
		case 0:
			return 0, errBench
		case 1:
			panic("dependency bug")
		}
		return 7, nil
	})
	for _, traced := range []bool{false, true} {
		opts := []recovery.BreakerOption{recovery.FailureThreshold(1), recovery.RecoveryTimeout(time.Second),
			recovery.SuccessThreshold(1), recovery.WithClock(clock)}
		if traced {
			_, tp := newRecorder(t)
			opts = append(opts, observability.WithTracerProvider(tp))
		}
		opts = append(opts, observability.WithLogger(slog.New(slog.DiscardHandler)))
		b := recovery.CircuitBreaker[int, int](dep, opts...)
		branch := primitives.Parallel[int, int](b)
		ctx := context.Background()

		mode.Store(0)
		_, _ = b.Execute(ctx, 0) // opens
		clock.Advance(time.Second)

		mode.Store(1)
		_, err := branch.Execute(ctx, 0)
		var pe *primitives.PanicError
		if !errors.As(err, &pe) {
			t.Fatalf("traced=%v: err %v; want the trial call's panic as an error", traced, err)
		}
		if s := b.State(); s != recovery.StateOpen {
			t.Fatalf("traced=%v: state %s after a panicking trial call; want open", traced, s)
		}

		clock.Advance(time.Second)
		mode.Store(2)
		if out, err := b.Execute(ctx, 0); err != nil || out != 7 {
			t.Fatalf("traced=%v: trial call after the recovery time: %d, %v; the circuit is stuck", traced, out, err)
		}
		if s := b.State(); s != recovery.StateClosed {
			t.Fatalf("traced=%v: state %s; want closed", traced, s)
		}
	}
}
