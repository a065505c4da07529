package refine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/refine"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

// pythonWithBudget is python with the local sandbox's memory budget set.
func pythonWithBudget(t testing.TB, budget int64) *sandbox.CodeExecution {
	t.Helper()
	p, err := local.New(quiet, local.WithMemoryBudget(budget))
	if err != nil {
		t.Fatalf("local sandbox: %v", err)
	}
	exec := sandbox.NewCodeExecution(p, sandbox.WithTimeout(20*time.Second), quiet)
	t.Cleanup(func() {
		exec.Close(context.Background())
		p.Close()
	})
	return exec
}

// Code that ends its interpreter (os._exit, a fatal signal) is the code's
// failure: an attempt fed back, with what it printed before, and the next
// attempt runs on a fresh sandbox.
func TestCrashIsAnAttempt(t *testing.T) {
	for _, c := range []struct {
		name, code, how string
	}{
		{"os._exit", "print('before the exit', flush=True)\nimport os\nos._exit(3)", "exit status 3"},
		{"SIGSEGV", "print('before the exit', flush=True)\nimport os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", "segmentation fault"},
	} {
		t.Run(c.name, func(t *testing.T) {
			gen := codes(c.code, "print('done')")
			res, err := refine.New(gen, python(t), quiet).Execute(ctxT(t), "x")
			if err != nil {
				t.Fatalf("err = %v, want the loop to go on after the crash", err)
			}
			if res.Attempts != 2 || strings.TrimSpace(res.Output.Stdout) != "done" {
				t.Fatalf("%+v", res)
			}
			a := res.History[0]
			if !strings.HasPrefix(a.Reason, "Crash: the Python process died") || !strings.Contains(a.Reason, c.how) {
				t.Fatalf("reason = %q, want a crash with %q", a.Reason, c.how)
			}
			if !strings.Contains(a.Output.Stdout, "before the exit") {
				t.Fatalf("output = %+v, want what the code printed before", a.Output)
			}
			if reqs := gen.requests(); len(reqs) != 2 || len(reqs[1].History) != 1 || reqs[1].History[0].Reason != a.Reason {
				t.Fatalf("the second generation did not hear of the crash: %+v", reqs)
			}
		})
	}
}

// A crash on the last attempt ends the loop as any failed attempt does.
func TestCrashOnLastAttempt(t *testing.T) {
	_, err := refine.New(codes("import os\nos._exit(1)"), python(t), refine.MaxAttempts(1), quiet).Execute(ctxT(t), "x")
	var ex *refine.ExhaustedError
	if !errors.As(err, &ex) || ex.Stop != refine.StopMaxAttempts || len(ex.History) != 1 ||
		!strings.HasPrefix(ex.History[0].Reason, "Crash:") {
		t.Fatalf("err = %v, want an *ExhaustedError with the crash", err)
	}
	if errors.Is(err, sandbox.ErrCrashed) {
		t.Fatal("the loop's error matches sandbox.ErrCrashed: the crash was returned, not fed back")
	}
}

// Code that goes over its sandbox's memory budget is the code's failure:
// an attempt fed back.
func TestMemoryLimitIsAnAttempt(t *testing.T) {
	// It holds the memory for a while, so the budget is enforced with a
	// memory cgroup and without one (polled).
	bomb := "print('allocating', flush=True)\nx = b'x' * (400 << 20)\nimport time\ntime.sleep(5)"
	gen := codes(bomb, "print('small')")
	res, err := refine.New(gen, pythonWithBudget(t, 128<<20), quiet).Execute(ctxT(t), "x")
	if err != nil {
		t.Fatalf("err = %v, want the loop to go on after the memory limit", err)
	}
	if res.Attempts != 2 || strings.TrimSpace(res.Output.Stdout) != "small" {
		t.Fatalf("%+v", res)
	}
	a := res.History[0]
	if !strings.HasPrefix(a.Reason, "MemoryError: the code used more memory than its sandbox allows (128.0 MiB)") {
		t.Fatalf("reason = %q", a.Reason)
	}
	if !strings.Contains(a.Output.Stdout, "allocating") {
		t.Fatalf("output = %+v, want what the code printed before", a.Output)
	}
	if reqs := gen.requests(); len(reqs) != 2 || len(reqs[1].History) != 1 || reqs[1].History[0].Reason != a.Reason {
		t.Fatalf("the second generation did not hear of the limit: %+v", reqs)
	}
}
