package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/recovery/recoverytest"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/sandboxtest"
)

func TestPoolReusesWarmSandbox(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(4))
	defer closePool(t, pool)
	ctx := context.Background()

	var ids []string
	for i := range 5 {
		exec, info, err := pool.Run(ctx, fmt.Sprintf("print:%d", i), sandbox.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := exec.StdoutText(); got != fmt.Sprint(i) {
			t.Fatalf("run %d printed %q", i, got)
		}
		if info.Created != (i == 0) {
			t.Fatalf("run %d: Created = %v", i, info.Created)
		}
		if info.Provider != "test" {
			t.Fatalf("Provider = %q", info.Provider)
		}
		// Stateless: the sandbox is being reset; the next caller waits
		// for it rather than creating a second one.
		ids = append(ids, info.ID)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("sandboxes used: %v, want one reused", ids)
		}
	}
	eventually(t, "last reset done", func() bool { return pool.Stats().Idle == 1 })
	if s := prov.Stats(); s.Created != 1 || s.Resets != 5 {
		t.Fatalf("provider stats %+v, want 1 created and 5 resets", s)
	}
	if s := pool.Stats(); s.Created != 1 || s.InUse != 0 || s.Idle != 1 {
		t.Fatalf("pool stats %+v", s)
	}
}

func TestPoolConcurrentFirstCallsCreateOneSandbox(t *testing.T) {
	prov := sandboxtest.New(script(nil), sandboxtest.CreateDelay(20*time.Millisecond))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(1))
	defer closePool(t, pool)

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			exec, _, err := pool.Run(context.Background(), fmt.Sprintf("print:%d", i), sandbox.RunOptions{})
			if err == nil && exec.StdoutText() != fmt.Sprint(i) {
				err = fmt.Errorf("caller %d got %q", i, exec.StdoutText())
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := prov.Stats()
	if s.Created != 1 || s.PeakLive != 1 || s.Overlaps != 0 || s.Runs != 16 {
		t.Fatalf("provider stats %+v, want exactly one sandbox running 16 cells one at a time", s)
	}
	if ps := pool.Stats(); ps.Waits == 0 {
		t.Fatalf("pool stats %+v: no caller waited", ps)
	}
}

func TestPoolNeverExceedsBound(t *testing.T) {
	prov := sandboxtest.New(script(nil), sandboxtest.CreateDelay(2*time.Millisecond))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(3), sandbox.MaxUses(4))
	defer closePool(t, pool)

	var wg sync.WaitGroup
	var failures sync.Map
	for i := range 60 {
		wg.Go(func() {
			if _, _, err := pool.Run(context.Background(), "sleep:1ms", sandbox.RunOptions{}); err != nil {
				failures.Store(i, err)
			}
		})
	}
	wg.Wait()
	failures.Range(func(k, v any) bool { t.Errorf("caller %v: %v", k, v); return true })
	s := prov.Stats()
	if s.PeakLive > 3 {
		t.Fatalf("%d sandboxes alive at once, bound is 3", s.PeakLive)
	}
	if s.Overlaps != 0 {
		t.Fatalf("%d runs overlapped on one sandbox", s.Overlaps)
	}
	// 60 uses at 4 per sandbox: at least 15 sandboxes, all but the live
	// ones rotated.
	if s.Created < 15 {
		t.Fatalf("created %d sandboxes, want >= 15 with MaxUses(4)", s.Created)
	}
	closePool(t, pool)
	if s := prov.Stats(); s.Live != 0 || s.Closed != s.Created {
		t.Fatalf("after Close: %+v", s)
	}
}

func TestPoolWaitHonoursContext(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(1))
	defer closePool(t, pool)

	lease, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := pool.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire while the only sandbox is lent: %v, want DeadlineExceeded", err)
	}
	if s := pool.Stats(); s.Waiting != 0 || s.InUse != 1 {
		t.Fatalf("stats after the waiter gave up: %+v", s)
	}
	lease.Release()
	l2, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if l2.ID() != lease.ID() {
		t.Fatalf("got %s, want the released %s", l2.ID(), lease.ID())
	}
	l2.Release()

	// A context that is already done is refused at once.
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if _, _, err := pool.Run(done, "print:x", sandbox.RunOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with a cancelled context: %v", err)
	}
}

// TestPoolCancellationStorm mixes callers that give up at random moments
// with callers that finish, then checks that no sandbox slot was lost.
func TestPoolCancellationStorm(t *testing.T) {
	base := runtime.NumGoroutine()
	prov := sandboxtest.New(script(nil), sandboxtest.CreateDelay(time.Millisecond))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(2), sandbox.MaxUses(7))

	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 7))
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(3000))*time.Microsecond)
			defer cancel()
			code := "sleep:200us"
			if i%5 == 0 {
				code = "block" // ends with the context: an error, so the sandbox is replaced
			}
			_, _, _ = pool.Run(ctx, code, sandbox.RunOptions{})
		})
	}
	wg.Wait()
	eventually(t, "pool quiet", func() bool {
		s := pool.Stats()
		return s.InUse == 0 && s.Creating == 0 && s.Waiting == 0
	})
	// Both slots must still be usable at once.
	var leases []*sandbox.Lease
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		l, err := pool.Acquire(ctx)
		cancel()
		if err != nil {
			t.Fatalf("a slot was lost: %v (stats %+v)", err, pool.Stats())
		}
		leases = append(leases, l)
	}
	for _, l := range leases {
		l.Release()
	}
	if s := prov.Stats(); s.PeakLive > 2 || s.Overlaps != 0 {
		t.Fatalf("provider stats %+v", s)
	}
	closePool(t, pool)
	if s := prov.Stats(); s.Live != 0 || s.Closed != s.Created {
		t.Fatalf("after Close: %+v", s)
	}
	settleGoroutines(t, base)
}

func TestPoolRotatesAfterMaxUses(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(1), sandbox.MaxUses(3), sandbox.SessionMode())
	defer closePool(t, pool)
	var ids []string
	for range 7 {
		_, info, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.ID)
	}
	want := []string{"test-1", "test-1", "test-1", "test-2", "test-2", "test-2", "test-3"}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("sandboxes used %v, want %v", ids, want)
	}
	eventually(t, "rotated sandboxes closed", func() bool { return prov.Stats().Closed == 2 })
	if s := pool.Stats(); s.Rotated != 2 || s.Created != 3 || s.Discarded != 0 {
		t.Fatalf("pool stats %+v", s)
	}
}

func TestPoolRotatesAfterMaxAge(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	clock := recoverytest.NewClock()
	pool := sandbox.NewPool(prov, sandbox.MaxAge(30*time.Minute), sandbox.SessionMode(), sandbox.WithClock(clock))
	defer closePool(t, pool)
	_, first, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(31 * time.Minute)
	_, second, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == second.ID || !second.Created {
		t.Fatalf("an idle sandbox older than MaxAge was reused: %+v then %+v", first, second)
	}
	eventually(t, "old sandbox closed", func() bool { return prov.Stats().Closed == 1 })
	if s := pool.Stats(); s.Rotated != 1 {
		t.Fatalf("pool stats %+v", s)
	}
}

func TestPoolRotatesAtSandboxLifetime(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	clock := recoverytest.NewClock()
	pool := sandbox.NewPool(prov, sandbox.SessionMode(), sandbox.WithClock(clock),
		sandbox.WithCreateOptions(sandbox.CreateOptions{Lifetime: 30 * time.Minute}))
	defer closePool(t, pool)
	_, first, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := prov.Sandboxes()[0].Options().Lifetime; got != 30*time.Minute {
		t.Fatalf("sandbox created with Lifetime %s", got)
	}
	clock.Advance(31 * time.Minute)
	_, second, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == second.ID {
		t.Fatal("a sandbox past its lifetime was reused")
	}
}

// A sandbox close to the end of its lifetime is retired before a run is
// handed to it, not when the backend ends it mid-run.
func TestPoolRetiresSandboxBeforeItsLifetimeEnds(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	clock := recoverytest.NewClock()
	pool := sandbox.NewPool(prov, sandbox.SessionMode(), sandbox.WithClock(clock),
		sandbox.WithCreateOptions(sandbox.CreateOptions{Lifetime: 1200 * time.Second}))
	defer closePool(t, pool)
	_, first, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(1150 * time.Second) // past 11/12 of the lifetime, before its end
	_, second, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == second.ID {
		t.Fatal("a sandbox in the last twelfth of its lifetime was handed a run")
	}
}

func TestPoolDiscardsSandboxAfterTimeout(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(1))
	defer closePool(t, pool)
	ctx := context.Background()

	_, first, err := pool.Run(ctx, "block", sandbox.RunOptions{Timeout: 20 * time.Millisecond})
	if !errors.Is(err, recovery.ErrTimeout) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	exec, second, err := pool.Run(ctx, "print:after", sandbox.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if exec.StdoutText() != "after" || second.ID == first.ID || !second.Created {
		t.Fatalf("after a timeout: %q on %+v (first %+v)", exec.StdoutText(), second, first)
	}
	eventually(t, "timed-out sandbox closed", func() bool { return prov.Stats().Closed == 1 })
	if s := pool.Stats(); s.Discarded != 1 {
		t.Fatalf("pool stats %+v", s)
	}
}

func TestPoolDiscardsCrashedSandbox(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	pool := sandbox.NewPool(prov)
	defer closePool(t, pool)
	_, first, err := pool.Run(context.Background(), "crash", sandbox.RunOptions{})
	if !errors.Is(err, sandbox.ErrCrashed) || !recovery.IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable crash", err)
	}
	_, second, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
	if err != nil || second.ID == first.ID {
		t.Fatalf("after a crash: %v on %s (first %s)", err, second.ID, first.ID)
	}
}

func TestPoolKeepsSandboxAfterUnsupportedLanguage(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	pool := sandbox.NewPool(prov, sandbox.SessionMode())
	defer closePool(t, pool)
	_, first, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{Language: "cobol"})
	var lang *sandbox.UnsupportedLanguageError
	if !errors.As(err, &lang) || recovery.IsRetryable(err) {
		t.Fatalf("err = %v, want a permanent *UnsupportedLanguageError", err)
	}
	_, second, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
	if err != nil || second.ID != first.ID {
		t.Fatalf("the sandbox was replaced after a rejected language: %v, %s vs %s", err, second.ID, first.ID)
	}
}

func TestPoolCreateFailureIsReturnedWithItsClassification(t *testing.T) {
	boom := errors.New("quota exceeded")
	prov := sandboxtest.New(script(nil), sandboxtest.OnCreate(func(_ context.Context, n int, _ sandbox.CreateOptions) error {
		switch n {
		case 1:
			return recovery.Transient(boom, time.Second)
		case 2:
			return recovery.Permanent(boom)
		}
		return nil
	}))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(1))
	defer closePool(t, pool)

	_, _, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
	var ce *sandbox.CreateError
	if !errors.As(err, &ce) || !errors.Is(err, boom) || ce.Provider != "test" {
		t.Fatalf("err = %v, want a *CreateError wrapping the provider's error", err)
	}
	if !recovery.IsRetryable(err) || recovery.RetryAfter(err) != time.Second {
		t.Fatalf("transient creation failure lost its classification: retryable=%v after=%s", recovery.IsRetryable(err), recovery.RetryAfter(err))
	}
	_, _, err = pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
	if err == nil || recovery.IsRetryable(err) {
		t.Fatalf("permanent creation failure: %v, retryable=%v", err, recovery.IsRetryable(err))
	}
	if _, _, err = pool.Run(context.Background(), "print:x", sandbox.RunOptions{}); err != nil {
		t.Fatalf("third creation should succeed: %v", err)
	}
	if s := pool.Stats(); s.CreateFailures != 2 || s.Created != 1 {
		t.Fatalf("pool stats %+v", s)
	}
}

func TestPoolFailedCreationLetsWaiterCreate(t *testing.T) {
	prov := sandboxtest.New(script(nil), sandboxtest.CreateDelay(30*time.Millisecond),
		sandboxtest.OnCreate(func(_ context.Context, n int, _ sandbox.CreateOptions) error {
			if n == 1 {
				return errors.New("first creation fails")
			}
			return nil
		}))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(1))
	defer closePool(t, pool)

	first := make(chan error, 1)
	go func() {
		_, _, err := pool.Run(context.Background(), "print:a", sandbox.RunOptions{})
		first <- err
	}()
	eventually(t, "first creation under way", func() bool { return pool.Stats().Creating == 1 })
	_, info, err := pool.Run(context.Background(), "print:b", sandbox.RunOptions{})
	if err != nil || !info.Created {
		t.Fatalf("waiting caller: %v %+v, want it to create the sandbox itself", err, info)
	}
	if err := <-first; err == nil {
		t.Fatal("the first creation should have failed")
	}
}

func TestPoolStatelessResetsState(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(1), sandbox.Stateless())
	defer closePool(t, pool)
	if !pool.Stateless() {
		t.Fatal("Stateless() not reported")
	}
	ctx := context.Background()
	if _, _, err := pool.Run(ctx, "set:x=1", sandbox.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	exec, info, err := pool.Run(ctx, "get:x", sandbox.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := exec.StdoutText(); got != "<unset>" || info.Created {
		t.Fatalf("stateless pool: get after set on reused sandbox = %q (created %v)", got, info.Created)
	}
}

func TestPoolSessionModeKeepsState(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(1), sandbox.SessionMode())
	defer closePool(t, pool)
	ctx := context.Background()
	if _, _, err := pool.Run(ctx, "set:x=1", sandbox.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	exec, _, err := pool.Run(ctx, "get:x", sandbox.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := exec.StdoutText(); got != "1" {
		t.Fatalf("session pool lost state: %q", got)
	}
	if prov.Stats().Resets != 0 {
		t.Fatal("session pool reset its sandbox")
	}
}

func TestPoolDiscardsSandboxWhoseResetFails(t *testing.T) {
	prov := sandboxtest.New(script(nil), sandboxtest.OnReset(func(*sandboxtest.Sandbox) error {
		return errors.New("reset failed")
	}))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(1), quiet)
	defer closePool(t, pool)
	_, first, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
	if err != nil || second.ID == first.ID {
		t.Fatalf("sandbox whose reset failed was reused: %v %s %s", err, first.ID, second.ID)
	}
	eventually(t, "discard counted", func() bool { return pool.Stats().Discarded >= 1 })
}

func TestLeasePinsOneSandbox(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(2))
	defer closePool(t, pool)
	ctx := context.Background()
	l, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Info().Created || l.Info().ID != l.ID() {
		t.Fatalf("Info %+v", l.Info())
	}
	if _, err := l.Run(ctx, "set:k=v", sandbox.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	exec, err := l.Run(ctx, "get:k", sandbox.RunOptions{})
	if err != nil || exec.StdoutText() != "v" {
		t.Fatalf("state within a lease: %v %q", err, exec.StdoutText())
	}
	if exec.ExecutionCount != 2 {
		t.Fatalf("ExecutionCount = %d", exec.ExecutionCount)
	}
	l.Release()
	l.Release() // no effect
	if _, err := l.Run(ctx, "print:x", sandbox.RunOptions{}); !errors.Is(err, sandbox.ErrReleased) || !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Run after Release: %v", err)
	}
	eventually(t, "sandbox back", func() bool { return pool.Stats().Idle == 1 })
	if s := pool.Stats(); s.InUse != 0 {
		t.Fatalf("double Release miscounted: %+v", s)
	}

	l, err = pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l.Discard()
	eventually(t, "discarded sandbox closed", func() bool { return prov.Stats().Closed == 1 })
}

func TestPoolCloseWaitsForInFlightRuns(t *testing.T) {
	gate := make(chan struct{})
	prov := sandboxtest.New(script(gate))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(2))

	// Two sandboxes lent: one running, one held; a third caller waits.
	held, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	busy := make(chan string, 1)
	started := make(chan struct{})
	go func() {
		l, err := pool.Acquire(context.Background())
		if err != nil {
			busy <- err.Error()
			return
		}
		close(started)
		exec, err := l.Run(context.Background(), "wait", sandbox.RunOptions{})
		l.Release()
		if err != nil {
			busy <- err.Error()
			return
		}
		busy <- exec.StdoutText()
	}()
	<-started
	// The pool is full: this caller waits, and Close must turn it away.
	waiter := make(chan error, 1)
	go func() {
		_, err := pool.Acquire(context.Background())
		waiter <- err
	}()
	eventually(t, "caller queued", func() bool { return pool.Stats().Waiting == 1 })

	closed := make(chan error, 1)
	go func() { closed <- pool.Close(context.Background()) }()
	if err := <-waiter; !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("waiting caller got %v, want ErrClosed", err)
	}
	held.Release() // the pool is closed: its sandbox is closed, not kept
	eventually(t, "released sandbox closed", func() bool { return prov.Stats().Closed == 1 })
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a run was in flight", err)
	default:
	}
	if _, _, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{}); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	close(gate)
	if got := <-busy; got != "released" {
		t.Fatalf("in-flight run: %q", got)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if s := prov.Stats(); s.Live != 0 || s.Closed != 2 {
		t.Fatalf("after Close: %+v", s)
	}
	// Closing again is harmless.
	if err := pool.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestPoolCloseStopsRunsWhenItsContextEnds(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	pool := sandbox.NewPool(prov)
	l, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() {
		_, err := l.Run(context.Background(), "block", sandbox.RunOptions{})
		l.Release()
		runErr <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := pool.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want DeadlineExceeded", err)
	}
	if err := <-runErr; !errors.Is(err, sandbox.ErrCrashed) {
		t.Fatalf("the in-flight run should end when its sandbox is closed: %v", err)
	}
	closePool(t, pool) // now everything is given back
	if s := prov.Stats(); s.Live != 0 {
		t.Fatalf("after Close: %+v", s)
	}
}

func TestPoolConstructorPanics(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	for name, f := range map[string]func(){
		"nil provider":   func() { sandbox.NewPool(nil) },
		"nil option":     func() { sandbox.NewPool(prov, nil) },
		"MaxSandboxes 0": func() { sandbox.MaxSandboxes(0) },
		"MaxAge -1":      func() { sandbox.MaxAge(-time.Second) },
		"MaxUses -1":     func() { sandbox.MaxUses(-1) },
		"zero telemetry": func() { sandbox.NewPool(prov, observability.Option{}) },
		"nil clock":      func() { sandbox.WithClock(nil) },
	} {
		func() {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if r == nil || len(msg) < len("sandbox: ") || msg[:9] != "sandbox: " {
					t.Errorf("%s: recovered %v, want a panic starting with \"sandbox: \"", name, r)
				}
			}()
			f()
		}()
	}
}

// A sandbox whose creation finishes after the caller's context ended is
// kept for the next caller, and the caller gets its context's error: a
// fresh sandbox is neither handed to a caller that cannot use it nor
// thrown away.
func TestPoolKeepsSandboxCreatedAfterCallerLeft(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	prov := sandboxtest.New(script(nil), sandboxtest.OnCreate(func(_ context.Context, n int, _ sandbox.CreateOptions) error {
		if n == 1 {
			cancel() // the caller gives up just as the sandbox becomes ready
		}
		return nil
	}))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(1))
	defer closePool(t, pool)

	lease, err := pool.Acquire(ctx)
	if !errors.Is(err, context.Canceled) {
		if lease != nil {
			lease.Release()
		}
		t.Fatalf("Acquire with a context that ended during creation: lease=%v err=%v, want context.Canceled", lease != nil, err)
	}
	if s := pool.Stats(); s.Idle != 1 || s.InUse != 0 || s.Created != 1 {
		t.Fatalf("pool stats %+v, want the new sandbox idle", s)
	}
	exec, info, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
	if err != nil || exec.StdoutText() != "x" || info.Created || info.ID != "test-1" {
		t.Fatalf("next caller: %v %+v, want the sandbox created earlier", err, info)
	}
	if s := prov.Stats(); s.Created != 1 || s.Closed != 0 {
		t.Fatalf("provider stats %+v", s)
	}
}

// A run asked for with a context that has already ended does not touch the
// sandbox, so the sandbox is not discarded for it.
func TestLeaseRunWithEndedContextKeepsSandbox(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(1))
	defer closePool(t, pool)

	lease, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	id := lease.ID()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := lease.Run(ctx, "sleep:1s", sandbox.RunOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with an ended context: %v", err)
	}
	lease.Release()
	_, info, err := pool.Run(context.Background(), "print:x", sandbox.RunOptions{})
	if err != nil || info.ID != id {
		t.Fatalf("next run: %v on %s, want the same sandbox %s", err, info.ID, id)
	}
	if s := pool.Stats(); s.Discarded != 0 || s.Created != 1 {
		t.Fatalf("pool stats %+v", s)
	}
	if n := prov.Stats().Runs; n != 1 {
		t.Fatalf("the backend saw %d runs, want 1", n)
	}
}

// A sandbox that reaches MaxAge while being reset is not handed to the
// caller waiting for it: that caller gets a fresh one.
func TestPoolRotatesSandboxThatAgedDuringReset(t *testing.T) {
	resetting := make(chan struct{}, 1)
	finishReset := make(chan struct{})
	prov := sandboxtest.New(script(nil), sandboxtest.OnReset(func(*sandboxtest.Sandbox) error {
		resetting <- struct{}{}
		<-finishReset
		return nil
	}))
	const maxAge = 30 * time.Minute
	clock := recoverytest.NewClock()
	pool := sandbox.NewPool(prov, sandbox.MaxSandboxes(1), sandbox.MaxAge(maxAge), sandbox.WithClock(clock))
	defer closePool(t, pool)

	_, first, err := pool.Run(context.Background(), "print:a", sandbox.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	<-resetting
	type result struct {
		info sandbox.SandboxInfo
		err  error
	}
	second := make(chan result, 1)
	go func() {
		_, info, err := pool.Run(context.Background(), "print:b", sandbox.RunOptions{})
		second <- result{info, err}
	}()
	eventually(t, "the second caller to wait", func() bool { return pool.Stats().Waiting == 1 })
	clock.Advance(maxAge + time.Second)
	close(finishReset)
	r := <-second
	if r.err != nil || r.info.ID == first.ID || !r.info.Created {
		t.Fatalf("waiting caller got %+v (%v), want a fresh sandbox instead of %s past MaxAge", r.info, r.err, first.ID)
	}
	if s := pool.Stats(); s.Rotated != 1 {
		t.Fatalf("pool stats %+v", s)
	}
}
