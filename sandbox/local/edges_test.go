//go:build linux

package local

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// TestPartialOutputReachesTheCallerWithTheError: what the code printed
// before a timeout, a crash or a cancellation is in the primitive's
// output, next to the typed error.
func TestPartialOutputReachesTheCallerWithTheError(t *testing.T) {
	for _, mode := range []struct {
		name string
		opt  sandbox.CodeOption
	}{{"stateless", sandbox.Stateless()}, {"session", sandbox.SessionMode()}} {
		t.Run(mode.name, func(t *testing.T) {
			ce := sandbox.NewCodeExecution(sharedProvider(t), sandbox.MaxSandboxes(1), mode.opt)
			t.Cleanup(func() { ce.Close(context.Background()) })

			out, err := ce.Execute(context.Background(), sandbox.CodeInput{
				Code: "print('step 1', flush=True)\nimport sys; print('warn', file=sys.stderr, flush=True)\nwhile True: pass", Timeout: 300 * time.Millisecond})
			if !errors.Is(err, recovery.ErrTimeout) || out.Success {
				t.Fatalf("timeout: %v %+v", err, out)
			}
			if !strings.HasPrefix(out.Stdout, "step 1\n") || !strings.HasPrefix(out.Stderr, "warn\n") || out.ErrorName != "KeyboardInterrupt" {
				t.Fatalf("output before the timeout lost: %+v", out)
			}

			out, err = ce.Execute(context.Background(), sandbox.CodeInput{Code: "print('step 2', flush=True)\nimport os\nos._exit(9)"})
			var crash *sandbox.CrashError
			if !errors.As(err, &crash) || out.Stdout != "step 2\n" || out.Success {
				t.Fatalf("crash: %v %+v", err, out)
			}

			// The crash took the sandbox with it: a warm-up call creates the
			// next one, so the cancellation below lands on running code and
			// not on a creation slowed by a busy host.
			if out, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: "1"}); err != nil || !out.Success {
				t.Fatalf("warm-up after the crash: %v %+v", err, out)
			}
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Second, cancel)
			out, err = ce.Execute(ctx, sandbox.CodeInput{Code: "print('step 3', flush=True)\nimport time\ntime.sleep(30)"})
			if !errors.Is(err, context.Canceled) || !strings.HasPrefix(out.Stdout, "step 3\n") || out.Success {
				t.Fatalf("cancellation: %v %+v", err, out)
			}
		})
	}
}

// TestPanickingCallbackDoesNotLeakTheLease: a panic in OnStdout or
// OnResult propagates to the caller, and the pool's only slot comes back,
// so the next call is served (by a fresh sandbox: the old one is dead).
func TestPanickingCallbackDoesNotLeakTheLease(t *testing.T) {
	pool := sandbox.NewPool(sharedProvider(t), sandbox.MaxSandboxes(1))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pool.Close(ctx)
	})
	boom := func() { panic("callback failed") }
	for _, tc := range []struct {
		code string
		opts sandbox.RunOptions
	}{
		{"print('x')", sandbox.RunOptions{OnStdout: func(sandbox.OutputMessage) { boom() }}},
		{"42", sandbox.RunOptions{OnResult: func(sandbox.Result) { boom() }}},
		{"raise ValueError('v')", sandbox.RunOptions{OnError: func(sandbox.ExecutionError) { boom() }}},
	} {
		func() {
			defer func() {
				if r := recover(); r != "callback failed" {
					t.Fatalf("recovered %v, want the callback's panic", r)
				}
			}()
			pool.Run(context.Background(), tc.code, tc.opts)
			t.Fatal("Run returned instead of panicking")
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		exec, _, err := pool.Run(ctx, "6*7", sandbox.RunOptions{})
		cancel()
		if err != nil || exec.Text() != "42" {
			t.Fatalf("the next call after a panicking callback: %v %+v (pool %+v)", err, exec, pool.Stats())
		}
	}
	for deadline := time.Now().Add(5 * time.Second); pool.Stats().InUse != 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // the last sandbox is being given back
	}
	if s := pool.Stats(); s.InUse != 0 || s.Discarded != 3 {
		t.Fatalf("pool after three panics: %+v, want nothing in use and three sandboxes discarded", s)
	}
}

// TestSandboxDiesWhenItsCallbackPanics: used directly, a sandbox whose
// callback panicked mid-run is dead rather than out of step with its
// worker.
func TestSandboxDiesWhenItsCallbackPanics(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	pids := processTree(s.child.cmd.Process.Pid)
	func() {
		defer func() { recover() }()
		s.Run(context.Background(), "print('a', flush=True)\nprint('b')\n7", sandbox.RunOptions{OnStdout: func(sandbox.OutputMessage) { panic("x") }})
	}()
	var crash *sandbox.CrashError
	if _, err := s.Run(context.Background(), "1", sandbox.RunOptions{}); !errors.As(err, &crash) {
		t.Fatalf("run after a panicking callback: %v, want a *CrashError", err)
	}
	assertGone(t, pids)
}

// TestOneTruncationStory: output dropped by the sandbox's byte limit (a
// stream, a result's repr, an error's value) sets CodeOutput.Truncated as
// the primitive's own character limit does, and each note says which
// layer cut and at what limit.
func TestOneTruncationStory(t *testing.T) {
	p := newProvider(t, WithMaxOutputBytes(1000))
	ce := sandbox.NewCodeExecution(p, sandbox.WithMaxOutputSize(100_000))
	t.Cleanup(func() { ce.Close(context.Background()) })
	const sandboxNote = " omitted by the sandbox (limit "
	for _, tc := range []struct {
		code  string
		field func(sandbox.CodeOutput) string
	}{
		{"print('x' * 5000)", func(o sandbox.CodeOutput) string { return o.Stdout }},
		{"'r' * 5000", func(o sandbox.CodeOutput) string { return o.Text() }},
		{"raise ValueError('v' * 5000)", func(o sandbox.CodeOutput) string { return o.ErrorValue }},
	} {
		out, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: tc.code})
		if err != nil {
			t.Fatal(err)
		}
		if got := tc.field(out); !out.Truncated || !strings.Contains(got, "\n... [output truncated: ") || !strings.Contains(got, sandboxNote) {
			t.Fatalf("%s: truncated=%v, tail %q", tc.code, out.Truncated, got[max(0, len(got)-100):])
		}
	}
	small := sandbox.NewCodeExecution(p, sandbox.WithMaxOutputSize(10))
	t.Cleanup(func() { small.Close(context.Background()) })
	out, err := small.Execute(context.Background(), sandbox.CodeInput{Code: "print('y' * 50)"})
	if err != nil || !out.Truncated || !strings.HasSuffix(out.Stdout, "[output truncated: 41 characters omitted by the primitive (limit 10 characters)]") {
		t.Fatalf("primitive's cut: %v %+v", err, out)
	}
}

// TestInterruptGraceEndsInAKill: a run that takes its time to answer the
// timeout's interrupt is killed when the grace ends, keeping what it
// printed; WithInterruptGrace gives it longer, and then its
// KeyboardInterrupt reaches the caller.
func TestInterruptGraceEndsInAKill(t *testing.T) {
	const slowToStop = "import signal, time\n" +
		"def slow(*a):\n    time.sleep(3)\n    raise KeyboardInterrupt\n" +
		"signal.signal(signal.SIGINT, slow)\n" +
		"print('started', flush=True)\nwhile True: pass"
	for _, tc := range []struct {
		name      string
		opts      []Option
		errorName string
	}{
		{"default", nil, ""},
		{"longer", []Option{WithInterruptGrace(10 * time.Second)}, "KeyboardInterrupt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t, newProvider(t, tc.opts...), sandbox.CreateOptions{})
			start := time.Now()
			ex, err := s.Run(context.Background(), slowToStop, sandbox.RunOptions{Timeout: 300 * time.Millisecond})
			elapsed := time.Since(start)
			if !errors.Is(err, recovery.ErrTimeout) || ex == nil || ex.StdoutText() != "started\n" {
				t.Fatalf("%v %+v", err, ex)
			}
			got := ""
			if ex.Error != nil {
				got = ex.Error.Name
			}
			if got != tc.errorName {
				t.Fatalf("error %q after %s, want %q", got, elapsed, tc.errorName)
			}
			if tc.errorName == "" && elapsed > 2500*time.Millisecond {
				t.Fatalf("returned after %s: the handler ran to its end instead of being killed at the grace", elapsed)
			}
			if _, err := s.Run(context.Background(), "1", sandbox.RunOptions{}); err == nil {
				t.Fatal("the sandbox lives on after its run was interrupted")
			}
		})
	}
}
