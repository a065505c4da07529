package recovery_test

import (
	"context"
	"errors"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
)

func TestTimeoutFastWorkPasses(t *testing.T) {
	out, err := recovery.Timeout(constant(3), time.Second).Execute(context.Background(), 0)
	if err != nil || out != 3 {
		t.Fatalf("got %d, %v", out, err)
	}
}

func TestTimeoutStopsWorkThatHonoursContext(t *testing.T) {
	var stopped atomic.Bool
	var cause atomic.Value
	p := primitives.Func[int, int](func(ctx context.Context, _ int) (int, error) {
		<-ctx.Done()
		cause.Store(context.Cause(ctx))
		stopped.Store(true)
		return 0, ctx.Err()
	})
	tl := recovery.Timeout(p, 10*time.Millisecond)
	_, err := tl.Execute(context.Background(), 0)
	if !stopped.Load() {
		t.Fatal("the inner primitive never saw its context end")
	}
	var te *recovery.TimeoutError
	if !errors.As(err, &te) || !te.Transient || te.After != 10*time.Millisecond {
		t.Fatalf("err %#v; want a transient *TimeoutError", err)
	}
	if !errors.Is(err, recovery.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("the error must match ErrTimeout and context.DeadlineExceeded")
	}
	if !recovery.IsRetryable(err) {
		t.Fatal("a Timeout primitive's timeout is retryable")
	}
	if c, _ := cause.Load().(error); !errors.Is(c, recovery.ErrTimeout) {
		t.Fatalf("inner context's cause %v; want our *TimeoutError", c)
	}
	if err.Error() != "timeout timed out after 10ms" {
		t.Fatalf("message %q", err.Error())
	}
}

// TestTimeoutKillsRealProcess runs a real Python interpreter that sleeps for
// a minute, under a 100 ms Timeout: the context kills it.
func TestTimeoutKillsRealProcess(t *testing.T) {
	var state atomic.Value
	run := primitives.Func[int, int](func(ctx context.Context, _ int) (int, error) {
		cmd := exec.CommandContext(ctx, "/usr/bin/python3", "-c", "import time; time.sleep(60)")
		err := cmd.Run()
		if cmd.ProcessState != nil {
			state.Store(cmd.ProcessState)
		}
		return 0, err
	})
	_, err := recovery.Timeout(run, 100*time.Millisecond).Execute(context.Background(), 0)
	if !errors.Is(err, recovery.ErrTimeout) {
		t.Fatalf("err %v; want a timeout", err)
	}
	ps, _ := state.Load().(interface{ Sys() any })
	if ps == nil {
		t.Fatal("no process state: the process never ran")
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("process status %v; want killed by SIGKILL", ps)
	}
}

func TestTimeoutKeepsShorterCallerDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	callerDeadline, _ := ctx.Deadline()
	var innerDeadline time.Time
	p := primitives.Func[int, int](func(ctx context.Context, _ int) (int, error) {
		innerDeadline, _ = ctx.Deadline()
		<-ctx.Done()
		return 0, ctx.Err()
	})
	_, err := recovery.Timeout(p, time.Hour).Execute(ctx, 0)
	if !innerDeadline.Equal(callerDeadline) {
		t.Fatalf("inner deadline %v, want the caller's %v", innerDeadline, callerDeadline)
	}
	var te *recovery.TimeoutError
	if errors.As(err, &te) || errors.Is(err, recovery.ErrTimeout) {
		t.Fatalf("err %v: the caller's own deadline is not our timeout", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v; want the caller's context.DeadlineExceeded", err)
	}
}

func TestTimeoutSetsItsDeadlineWhenShorter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	var remaining time.Duration
	p := primitives.Func[int, int](func(ctx context.Context, _ int) (int, error) {
		d, _ := ctx.Deadline()
		remaining = time.Until(d)
		return 1, nil
	})
	if _, err := recovery.Timeout(p, time.Second).Execute(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if remaining > time.Second || remaining <= 0 {
		t.Fatalf("inner deadline in %s; want within 1s", remaining)
	}
}

func TestTimeoutCallerCancelIsNotOurTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var fallbackCalls atomic.Int32
	fb := primitives.Func[int, int](func(context.Context, int) (int, error) { fallbackCalls.Add(1); return 9, nil })
	go func() { time.Sleep(5 * time.Millisecond); cancel() }()
	_, err := recovery.Timeout(waitForCancel, time.Hour).WithFallback(fb).Execute(ctx, 0)
	if !errors.Is(err, context.Canceled) || errors.Is(err, recovery.ErrTimeout) {
		t.Fatalf("err %v; want the caller's context.Canceled", err)
	}
	if fallbackCalls.Load() != 0 {
		t.Fatal("the fallback ran although the caller cancelled")
	}
}

func TestTimeoutFallback(t *testing.T) {
	var fbCtxDone atomic.Bool
	fb := primitives.Func[int, int](func(ctx context.Context, n int) (int, error) {
		fbCtxDone.Store(ctx.Err() != nil)
		return n + 100, nil
	})
	rec, tp := newRecorder(t)
	tl := recovery.Timeout(waitForCancel, 5*time.Millisecond, observability.WithTracerProvider(tp)).WithFallback(fb)
	out, err := tl.Execute(context.Background(), 1)
	if err != nil || out != 101 {
		t.Fatalf("got %d, %v; want the fallback's 101", out, err)
	}
	if fbCtxDone.Load() {
		t.Fatal("the fallback ran with an expired context")
	}
	s := spanByName(t, rec, "timeout")
	if v, _ := attr(s, "timeout.ms"); v.AsInt64() != 5 {
		t.Fatalf("timeout.ms = %v", v.AsInt64())
	}
	found := false
	for _, e := range s.Events() {
		found = found || e.Name == "timeout.fallback"
	}
	if !found {
		t.Fatal("no timeout.fallback event on the timeout span")
	}
}

func TestTimeoutPassesOtherErrorsUnchanged(t *testing.T) {
	boom := errors.New("boom")
	_, err := recovery.Timeout(failing(boom), time.Second).Execute(context.Background(), 0)
	if err != boom {
		t.Fatalf("err %v; want boom unchanged", err)
	}
}

// A primitive that ignores its context: by default Timeout waits for it and
// keeps a late success, and turns a late failure into a timeout.
func TestTimeoutInlineWithContextIgnoringWork(t *testing.T) {
	lateOK := primitives.Func[int, int](func(context.Context, int) (int, error) {
		time.Sleep(30 * time.Millisecond)
		return 5, nil
	})
	if out, err := recovery.Timeout(lateOK, 5*time.Millisecond).Execute(context.Background(), 0); err != nil || out != 5 {
		t.Fatalf("got %d, %v; want the late result kept", out, err)
	}
	boom := errors.New("boom")
	lateFail := primitives.Func[int, int](func(context.Context, int) (int, error) {
		time.Sleep(30 * time.Millisecond)
		return 0, boom
	})
	_, err := recovery.Timeout(lateFail, 5*time.Millisecond).Execute(context.Background(), 0)
	if !errors.Is(err, recovery.ErrTimeout) || !errors.Is(err, boom) {
		t.Fatalf("err %v; want a timeout wrapping boom", err)
	}
	if err.Error() != "timeout timed out after 5ms: boom" {
		t.Fatalf("message %q", err.Error())
	}
}

func TestTimeoutAbandonOnDeadline(t *testing.T) {
	release := make(chan struct{})
	finished := make(chan struct{})
	var sawCancel atomic.Bool
	stuck := primitives.Func[int, int](func(ctx context.Context, _ int) (int, error) {
		defer close(finished)
		<-release // ignores ctx until the test lets it go
		sawCancel.Store(ctx.Err() != nil)
		return 42, nil
	})
	// If Execute waited for the stuck call, the test would deadlock.
	_, err := recovery.Timeout(stuck, 10*time.Millisecond, recovery.AbandonOnDeadline()).Execute(context.Background(), 0)
	if !errors.Is(err, recovery.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v; want a timeout", err)
	}
	close(release)
	<-finished // the abandoned goroutine ends once its call returns
	if !sawCancel.Load() {
		t.Fatal("the abandoned call's context was not cancelled")
	}
}

func TestTimeoutAbandonReturnsResultAndPanics(t *testing.T) {
	out, err := recovery.Timeout(constant(8), time.Second, recovery.AbandonOnDeadline()).Execute(context.Background(), 0)
	if err != nil || out != 8 {
		t.Fatalf("got %d, %v", out, err)
	}
	boom := primitives.Func[int, int](func(context.Context, int) (int, error) { panic("kaboom") })
	_, err = recovery.Timeout(boom, time.Second, recovery.AbandonOnDeadline()).Execute(context.Background(), 0)
	var pe *primitives.PanicError
	if !errors.As(err, &pe) || pe.Value != "kaboom" || len(pe.Stack) == 0 {
		t.Fatalf("err %v; want a *PanicError", err)
	}
}

func TestTimeoutAbandonCallerCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	defer close(release)
	stuck := primitives.Func[int, int](func(context.Context, int) (int, error) { <-release; return 0, nil })
	go func() { time.Sleep(5 * time.Millisecond); cancel() }()
	_, err := recovery.Timeout(stuck, time.Hour, recovery.AbandonOnDeadline()).Execute(ctx, 0)
	if !errors.Is(err, context.Canceled) || errors.Is(err, recovery.ErrTimeout) {
		t.Fatalf("err %v; want the caller's context.Canceled", err)
	}
}

func TestRetryOfTimeoutRetriesPerAttemptDeadline(t *testing.T) {
	var calls atomic.Int32
	slowTwice := primitives.Func[int, int](func(ctx context.Context, n int) (int, error) {
		if calls.Add(1) <= 2 {
			<-ctx.Done()
			return 0, ctx.Err()
		}
		return n, nil
	})
	p := recovery.Retry(recovery.Timeout(slowTwice, 5*time.Millisecond), recovery.InitialDelay(time.Millisecond))
	out, err := p.Execute(context.Background(), 6)
	if err != nil || out != 6 || calls.Load() != 3 {
		t.Fatalf("got %d, %v after %d calls", out, err, calls.Load())
	}
}
