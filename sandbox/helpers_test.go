package sandbox_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/sandboxtest"
)

// script is a handler understanding a few commands, one per cell:
//
//	print:TEXT      prints TEXT
//	set:K=V         stores V under K in the sandbox state
//	get:K           prints the value of K, or <unset>
//	sleep:DURATION  sleeps (returns early when ctx ends)
//	block           waits until ctx ends or the sandbox is closed
//	wait            waits until gate is closed (or ctx ends)
//	raise:NAME:VAL  raises the exception NAME with value VAL
//	crash           fails as a crashed sandbox
func script(gate <-chan struct{}) sandboxtest.Handler {
	return func(ctx context.Context, sb *sandboxtest.Sandbox, code string, opts sandbox.RunOptions) (*sandbox.Execution, error) {
		cmd, arg, _ := strings.Cut(code, ":")
		switch cmd {
		case "print":
			return sandboxtest.Output(arg), nil
		case "set":
			k, v, _ := strings.Cut(arg, "=")
			sb.Set(k, v)
			return &sandbox.Execution{}, nil
		case "get":
			v, ok := sb.Get(arg)
			if !ok {
				v = "<unset>"
			}
			return sandboxtest.Output(v), nil
		case "sleep":
			d, err := time.ParseDuration(arg)
			if err != nil {
				return nil, err
			}
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return &sandbox.Execution{}, nil
		case "block":
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-sb.Done():
				return nil, &sandbox.CrashError{SandboxID: sb.ID(), Reason: "closed"}
			}
		case "wait":
			select {
			case <-gate:
				return sandboxtest.Output("released"), nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		case "raise":
			name, val, _ := strings.Cut(arg, ":")
			return sandboxtest.Raise(name, val), nil
		case "crash":
			return nil, &sandbox.CrashError{SandboxID: sb.ID(), Reason: "interpreter exited"}
		}
		return sandboxtest.Raise("NameError", "name '"+cmd+"' is not defined"), nil
	}
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// settleGoroutines waits until the number of goroutines is back to at
// most base.
func settleGoroutines(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutines: %d, want <= %d\n%s", n, base, buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// childProcesses lists the pids whose parent is this process.
func childProcesses(t testing.TB) []int {
	t.Helper()
	self := os.Getpid()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var kids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...: comm may contain spaces, so parse after ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == self {
			kids = append(kids, pid)
		}
	}
	return kids
}

func closePool(t testing.TB, p *sandbox.Pool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
