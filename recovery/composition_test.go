package recovery_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/recovery"
)

// Retry(CircuitBreaker(p)): while the circuit is open, Retry waits for the
// time the breaker says is left, then the trial call goes through.
func TestRetryWaitsForOpenCircuit(t *testing.T) {
	var calls atomic.Int32
	p := primitives.Func[int, int](func(_ context.Context, n int) (int, error) {
		if calls.Add(1) == 1 {
			return 0, errTransient
		}
		return n, nil
	})
	cb := recovery.CircuitBreaker(p, recovery.FailureThreshold(1), recovery.RecoveryTimeout(20*time.Millisecond),
		recovery.SuccessThreshold(1))
	var events []recovery.RetryEvent
	r := recovery.Retry(cb, recovery.Constant(), recovery.InitialDelay(time.Millisecond),
		recovery.OnRetry(func(e recovery.RetryEvent) { events = append(events, e) }))
	out, err := r.Execute(context.Background(), 9)
	if err != nil || out != 9 {
		t.Fatalf("got %d, %v", out, err)
	}
	if len(events) != 2 || !errors.Is(events[1].Err, recovery.ErrCircuitOpen) || !events[1].FromHint {
		t.Fatalf("events %+v; want the second retry to follow the open circuit's hint", events)
	}
	if d := events[1].Delay; d <= 0 || d > 20*time.Millisecond {
		t.Fatalf("waited %s for the circuit; want the time left of its 20ms", d)
	}
	if calls.Load() != 2 || cb.State() != recovery.StateClosed {
		t.Fatalf("dependency calls %d, state %s", calls.Load(), cb.State())
	}
}

// Timeout(Retry(p)): one deadline for all attempts; it cuts a wait short.
func TestTimeoutAroundRetryBoundsAllAttempts(t *testing.T) {
	r := recovery.Retry(failing(errTransient), recovery.Constant(), recovery.InitialDelay(time.Hour), recovery.MaxDelay(time.Hour))
	_, err := recovery.Timeout(r, 20*time.Millisecond).Execute(context.Background(), 0)
	var te *recovery.TimeoutError
	var re *recovery.RetryError
	if !errors.As(err, &te) || !errors.As(err, &re) || re.Reason != recovery.StopCanceled {
		t.Fatalf("err %v; want a timeout wrapping a retry stopped by the deadline", err)
	}
	if !errors.Is(err, errTransient) {
		t.Fatal("the last attempt's error is lost")
	}
}

// Fallback(Retry(p), alt): the alternative runs once the retries are spent.
func TestFallbackAfterRetriesSpent(t *testing.T) {
	f := &flaky{errs: []error{errTransient, errTransient, errTransient}}
	p := recovery.Fallback[int, int](recovery.Retry[int, int](f, recovery.MaxRetries(2), recovery.InitialDelay(0)), constant(-1))
	out, err := p.Execute(context.Background(), 1)
	if err != nil || out != -1 || f.Calls() != 3 {
		t.Fatalf("got %d, %v after %d calls", out, err, f.Calls())
	}
}
