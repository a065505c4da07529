//go:build linux

package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// holdMemory prints "started", forks n processes that each touch mib MiB
// and then wait, and prints "held" once all of them hold it, then waits
// for wait seconds.
func holdMemory(n, mib int, wait float64) string {
	return fmt.Sprintf(`import os, time
print('started', flush=True)
r, w = os.pipe()
for _ in range(%d):
    if os.fork() == 0:
        b = b'\x01' * (%d << 20)
        os.write(w, b'.')
        time.sleep(60)
        os._exit(0)
for _ in range(%d):
    os.read(r, 1)
print('held', flush=True)
time.sleep(%g)
`, n, mib, n, wait)
}

// TestTreeWalkerMeasuresEveryProcess: the walk finds children forked from
// any thread (a Go program forks from whichever thread runs the
// goroutine) and grandchildren, and counts the memory they touched.
func TestTreeWalkerMeasuresEveryProcess(t *testing.T) {
	w := newTreeWalker()
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	root := s.child.cmd.Process.Pid
	before, n := w.anonResident(root)
	if n != len(processTree(root)) || n < 2 {
		t.Fatalf("walk measured %d processes, the process table has %d", n, len(processTree(root)))
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, holdMemory(3, 40, 60), sandbox.RunOptions{OnStdout: func(sandbox.OutputMessage) {}})
	}()
	t.Cleanup(func() { cancel(); <-done })
	var after int64
	deadline := time.Now().Add(10 * time.Second)
	for {
		after, n = w.anonResident(root)
		if after-before >= 120<<20 && n == len(processTree(root)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("walk: %d processes, %d MiB more than idle; the process table has %d", n, (after-before)>>20, len(processTree(root)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n < 5 { // init, worker, three children
		t.Fatalf("walk measured %d processes", n)
	}

	// The test binary itself: a child started from another thread.
	cmd := exec.Command("/bin/sh", "-c", "read x")
	in, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); cmd.Wait() }()
	self, selfN := w.anonResident(os.Getpid())
	if want := len(processTree(os.Getpid())); self <= 0 || selfN != want || !slices.Contains(processTree(os.Getpid()), cmd.Process.Pid) {
		t.Fatalf("the test process's own tree: %d bytes, %d processes, want %d", self, selfN, want)
	}
}

// TestMemoryBudgetStopsASandboxOfManyProcesses: four processes of 100 MiB
// each stay under the per-process limit, and are stopped by a 256 MiB
// budget with a *sandbox.LimitError, the output so far and every process
// gone; without the budget they run to the end.
func TestMemoryBudgetStopsASandboxOfManyProcesses(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		t.Run(fmt.Sprint("stateless=", stateless), func(t *testing.T) {
			p := newProvider(t, WithMemoryBudget(256<<20))
			neighbour := newSandbox(t, p, sandbox.CreateOptions{})
			mustSucceed(t, neighbour, "kept = b'\\x02' * (100 << 20)")
			s := newSandbox(t, p, sandbox.CreateOptions{Stateless: stateless})
			mustSucceed(t, s, "b = b'\\x01' * (150 << 20)\nlen(b)") // one process under the budget is fine
			pids := processTree(s.child.cmd.Process.Pid)
			start := time.Now()
			ex, err := s.Run(context.Background(), holdMemory(4, 100, 60), sandbox.RunOptions{Timeout: 30 * time.Second})
			var le *sandbox.LimitError
			if !errors.As(err, &le) || le.Resource != "memory" || le.Limit != 256<<20 || le.Used < 240<<20 || le.SandboxID != s.id {
				t.Fatalf("err = %v (%T), want a *sandbox.LimitError", err, err)
			}
			if !errors.Is(err, sandbox.ErrCrashed) || recovery.IsRetryable(err) {
				t.Fatalf("a LimitError must match ErrCrashed and not be retryable: %v", err)
			}
			if !strings.Contains(err.Error(), "budget of 256.0 MiB") {
				t.Fatalf("message: %v", err)
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("stopped after %s", time.Since(start))
			}
			if ex == nil || !strings.HasPrefix(ex.StdoutText(), "started\n") {
				t.Fatalf("the output before the stop is lost: %+v", ex)
			}
			assertGone(t, pids)
			var crash *sandbox.CrashError
			if _, err := s.Run(context.Background(), "1", sandbox.RunOptions{}); !errors.As(err, &crash) {
				t.Fatalf("run after the stop: %v", err)
			}
			// The neighbour under its own budget kept its state.
			if ex := mustSucceed(t, neighbour, "len(kept) >> 20"); ex.Text() != "100" {
				t.Fatalf("neighbour: %+v", ex)
			}
		})
	}

	s := newSandbox(t, newProvider(t, WithMemoryBudget(0)), sandbox.CreateOptions{})
	ex, err := s.Run(context.Background(), holdMemory(4, 100, 1.5)+"'done'", sandbox.RunOptions{})
	if err != nil || ex.StdoutText() != "started\nheld\n" || ex.Text() != "'done'" {
		t.Fatalf("without a budget: %v %+v", err, ex)
	}
}

// TestMemoryBudgetStopsAnIdleSession: a process a cell left behind that
// grows after the cell ended is measured too; the idle sandbox is torn
// down and its next run fails.
func TestMemoryBudgetStopsAnIdleSession(t *testing.T) {
	p := newProvider(t, WithMemoryBudget(128<<20))
	s := newSandbox(t, p, sandbox.CreateOptions{})
	mustSucceed(t, s, "import subprocess, sys\nbg = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(0.3); b = bytes(range(256)) * (1 << 20); time.sleep(60)'])")
	pids := processTree(s.child.cmd.Process.Pid)
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.stateMu.Lock()
		dead := s.dead
		s.stateMu.Unlock()
		p.mu.Lock()
		_, open := p.sandboxes[s]
		p.mu.Unlock()
		if dead != "" && !open { // stopped and torn down
			if !strings.Contains(dead, "budget of 128.0 MiB") {
				t.Fatalf("dead: %s", dead)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the idle sandbox over its budget is still open (dead: %q)", dead)
		}
		time.Sleep(50 * time.Millisecond)
	}
	assertCleanedUp(t, s, pids)
	if _, err := s.Run(context.Background(), "1", sandbox.RunOptions{}); !errors.Is(err, sandbox.ErrCrashed) {
		t.Fatalf("run after the stop: %v", err)
	}
}

// TestMemoryBudgetThroughThePrimitive: the pool discards the stopped
// sandbox, a retry policy does not retry the LimitError, and the next
// call is served.
func TestMemoryBudgetThroughThePrimitive(t *testing.T) {
	ce := sandbox.NewCodeExecution(newProvider(t, WithMemoryBudget(200<<20)), sandbox.MaxSandboxes(1))
	t.Cleanup(func() { ce.Close(context.Background()) })
	attempts := 0
	retried := recovery.Retry(
		primitives.Func[sandbox.CodeInput, sandbox.CodeOutput](func(ctx context.Context, in sandbox.CodeInput) (sandbox.CodeOutput, error) {
			attempts++
			return ce.Execute(ctx, in)
		}), recovery.MaxRetries(2), recovery.InitialDelay(time.Millisecond))
	out, err := retried.Execute(context.Background(), sandbox.CodeInput{Code: holdMemory(3, 100, 60)})
	var le *sandbox.LimitError
	if !errors.As(err, &le) || attempts != 1 || out.Success {
		t.Fatalf("%d attempts, err %v, out %+v", attempts, err, out)
	}
	out, err = ce.Execute(context.Background(), sandbox.CodeInput{Code: "6*7"})
	if err != nil || out.Text() != "42" {
		t.Fatalf("next call: %v %+v", err, out)
	}
}
