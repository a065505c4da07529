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

// Regression tests of the seams between combinators (the full composition
// conformance matrix is in the root package's matrix_test.go).

// An inner deadline (one the step set itself, as an http.Client timeout
// does) is the most common transient failure of a remote call: it is
// retried. Only the caller's own ended context stops retrying.
func TestInnerDeadlineIsRetried(t *testing.T) {
	var calls atomic.Int32
	p := primitives.Func[int, int](func(ctx context.Context, n int) (int, error) {
		if calls.Add(1) == 1 {
			ictx, cancel := context.WithTimeout(ctx, time.Millisecond)
			defer cancel()
			<-ictx.Done()
			return 0, ictx.Err()
		}
		return n, nil
	})
	out, err := recovery.Retry(p, recovery.InitialDelay(0)).Execute(context.Background(), 7)
	if err != nil || out != 7 || calls.Load() != 2 {
		t.Fatalf("got %d, %v after %d calls; an inner deadline must be retried", out, err, calls.Load())
	}
	if !recovery.IsRetryable(context.DeadlineExceeded) {
		t.Fatal("IsRetryable(context.DeadlineExceeded) = false")
	}

	// The caller's deadline is never retried.
	calls.Store(0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	waits := primitives.Func[int, int](func(ctx context.Context, n int) (int, error) {
		calls.Add(1)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	if _, err := recovery.Retry(waits, recovery.InitialDelay(0)).Execute(ctx, 1); !errors.Is(err, context.DeadlineExceeded) || calls.Load() != 1 {
		t.Fatalf("err %v after %d calls; the caller's deadline must stop retrying", err, calls.Load())
	}
}

// A breaker inside a Parallel branch does not count the cancellation
// caused by a failing sibling, whatever the cancellation's cause.
func TestBreakerIgnoresSiblingCancellationWithCause(t *testing.T) {
	started := make(chan struct{})
	healthy := primitives.Func[int, int](func(ctx context.Context, n int) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, context.Cause(ctx) // the *BranchError of the sibling
	})
	cb := recovery.CircuitBreaker(healthy, recovery.FailureThreshold(1))
	sibling := primitives.Func[int, int](func(context.Context, int) (int, error) {
		<-started
		return 0, errors.New("sibling failed")
	})
	if _, err := primitives.Parallel[int, int](cb, sibling).Execute(context.Background(), 1); err == nil {
		t.Fatal("no error")
	}
	if s := cb.State(); s != recovery.StateClosed {
		t.Fatalf("breaker %s after a sibling's failure cancelled its call; want closed", s)
	}
}

// A Permanent error that arrives after Timeout's deadline keeps its
// verdict: Retry(Timeout(p)) does not retry it.
func TestTimeoutKeepsPermanentVerdict(t *testing.T) {
	errBadKey := errors.New("401 invalid key")
	var calls atomic.Int32
	p := primitives.Func[int, int](func(ctx context.Context, _ int) (int, error) {
		calls.Add(1)
		<-ctx.Done()
		return 0, recovery.Permanent(errBadKey)
	})
	_, err := recovery.Retry(recovery.Timeout(p, time.Millisecond), recovery.InitialDelay(0)).Execute(context.Background(), 0)
	if calls.Load() != 1 || !errors.Is(err, errBadKey) || recovery.IsRetryable(err) {
		t.Fatalf("err %v after %d calls; a Permanent error must not be retried", err, calls.Load())
	}
	if !errors.Is(err, recovery.ErrTimeout) {
		t.Fatalf("err %v does not say the deadline passed", err)
	}
}

// Retry(Parallel(buggy)) runs the bug once: a recovered panic is never
// retried.
func TestRetryDoesNotRetryRecoveredPanic(t *testing.T) {
	var calls atomic.Int32
	buggy := primitives.Func[int, int](func(context.Context, int) (int, error) {
		calls.Add(1)
		panic("index out of range")
	})
	_, err := recovery.Retry(primitives.Parallel(buggy), recovery.InitialDelay(0)).Execute(context.Background(), 0)
	var pe *primitives.PanicError
	if !errors.As(err, &pe) || calls.Load() != 1 {
		t.Fatalf("err %v after %d calls; want one call and a *PanicError", err, calls.Load())
	}
}

// Fallback does not answer a bug with an alternative: a recovered panic
// fails fast.
func TestFallbackDoesNotFallBackOnPanic(t *testing.T) {
	buggy := primitives.Func[int, int](func(context.Context, int) (int, error) { panic("bug") })
	var altCalls atomic.Int32
	alt := primitives.Func[int, int](func(context.Context, int) (int, error) { altCalls.Add(1); return 1, nil })
	_, err := recovery.Fallback(primitives.Parallel(buggy), primitives.Parallel[int, int](alt)).Execute(context.Background(), 0)
	var pe *primitives.PanicError
	if !errors.As(err, &pe) || altCalls.Load() != 0 {
		t.Fatalf("err %v, alternative ran %d times; a panic must not be answered by a fallback", err, altCalls.Load())
	}
}

// A saga whose context is already done returns the context's cause, as
// every combinator does, not a *SagaError.
func TestSagaWithDoneContextReturnsCause(t *testing.T) {
	cause := errors.New("request abandoned")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	var calls atomic.Int32
	step := primitives.Func[int, int](func(context.Context, int) (int, error) { calls.Add(1); return 1, nil })
	_, err := recovery.Saga(recovery.Step(step, nil)).Execute(ctx, 0)
	var se *recovery.SagaError
	if err != cause || errors.As(err, &se) || calls.Load() != 0 {
		t.Fatalf("err %v (%T) after %d calls; want the cause itself", err, err, calls.Load())
	}
}

// Retry waits on its clock: a test moves it instead of sleeping.
func TestRetryWaitsOnItsClock(t *testing.T) {
	clock := newManualClock()
	f := &flaky{errs: []error{errTransient}}
	r := recovery.Retry[int, int](f, recovery.WithClock(clock), recovery.Constant(), recovery.InitialDelay(time.Hour),
		recovery.MaxDelay(time.Hour))
	done := make(chan error, 1)
	go func() { _, err := r.Execute(context.Background(), 1); done <- err }()
	clock.BlockUntilWaiters(1)
	select {
	case err := <-done:
		t.Fatalf("returned %v before the clock moved", err)
	default:
	}
	clock.Advance(time.Hour)
	if err := <-done; err != nil || f.Calls() != 2 {
		t.Fatalf("err %v after %d calls", err, f.Calls())
	}
}
