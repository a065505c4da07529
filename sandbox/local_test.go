package sandbox_test

import (
	"context"
	"errors"
	"github.com/ttadev/primitives/observability"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ttadev/primitives/performance"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

// These tests run real Python in the embedded local sandbox.

var (
	localOnce sync.Once
	localProv *local.Provider
	localErr  error
)

func localProvider(t testing.TB) *local.Provider {
	t.Helper()
	localOnce.Do(func() { localProv, localErr = local.New(observability.WithLogger(slog.New(slog.DiscardHandler))) })
	if localErr != nil {
		t.Fatalf("local.New: %v", localErr)
	}
	return localProv
}

func TestLocalSeedExamples(t *testing.T) {
	ce := newExec(t, localProvider(t))
	ctx := workflowCtx("exec-123")

	out, err := ce.Execute(ctx, sandbox.CodeInput{Code: `
def factorial(n):
    return 1 if n <= 1 else n * factorial(n-1)

print(factorial(5))
`})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Success || out.Logs != "120\n" || out.Error != "" {
		t.Fatalf("factorial: %+v", out)
	}

	out, err = ce.Execute(ctx, sandbox.CodeInput{Code: "print('missing quote)"})
	if err != nil {
		t.Fatalf("a syntax error must be a result, got %v", err)
	}
	if out.Success || !strings.HasPrefix(out.Error, "SyntaxError: ") || out.ErrorName != "SyntaxError" {
		t.Fatalf("syntax error: %+v", out)
	}

	out, err = ce.Execute(ctx, sandbox.CodeInput{Code: `
def add(a, b):
    return a + b

# Tests
assert add(1, 2) == 3
assert add(-1, 1) == 0
assert add(0, 0) == 0

print("All tests passed!")
`})
	if err != nil || !out.Success || out.Logs != "All tests passed!\n" {
		t.Fatalf("tests: %v %+v", err, out)
	}

	out, err = ce.Execute(ctx, sandbox.CodeInput{Code: "assert 1 == 2, 'math is broken'"})
	if err != nil || out.Success || out.Error != "AssertionError: math is broken" {
		t.Fatalf("failing assert: %v %+v", err, out)
	}

	out, err = ce.Execute(ctx, sandbox.CodeInput{Code: "import sys\nprint('out')\nprint('err', file=sys.stderr)\n6 * 7"})
	if err != nil || out.Stdout != "out\n" || out.Stderr != "err\n" || out.Logs != "out\nerr\n" || out.Text() != "42" {
		t.Fatalf("streams and result: %v %+v", err, out)
	}

	out, err = ce.Execute(ctx, sandbox.CodeInput{Code: "import os\nprint(os.environ.get('GREETING'))", Env: map[string]string{"GREETING": "hello"}})
	if err != nil || out.Logs != "hello\n" {
		t.Fatalf("env: %v %+v", err, out)
	}
}

func TestLocalTimeoutThenFreshSandbox(t *testing.T) {
	ce := newExec(t, localProvider(t), sandbox.MaxSandboxes(1))
	ctx := context.Background()
	out, err := ce.Execute(ctx, sandbox.CodeInput{Code: "while True: pass", Timeout: 300 * time.Millisecond})
	if !errors.Is(err, recovery.ErrTimeout) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if recovery.IsRetryable(err) {
		t.Fatal("a code timeout is classified retryable")
	}
	next, err := ce.Execute(ctx, sandbox.CodeInput{Code: "print('alive')"})
	if err != nil || next.Logs != "alive\n" {
		t.Fatalf("after the timeout: %v %+v", err, next)
	}
	if next.SandboxID == out.SandboxID || out.SandboxID == "" {
		t.Fatalf("the timed-out sandbox %q was reused", out.SandboxID)
	}
	if s := ce.Pool().Stats(); s.Discarded != 1 || s.Created != 2 {
		t.Fatalf("pool stats %+v", s)
	}
}

func TestLocalTruncation(t *testing.T) {
	ce := newExec(t, localProvider(t))
	out, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: "print('é' * 50000)\n'x' * 20000"})
	if err != nil {
		t.Fatal(err)
	}
	wantLogs := strings.Repeat("é", 10_000) + "\n... [output truncated: 40001 characters omitted by the primitive (limit 10000 characters)]"
	if !out.Truncated || out.Logs != wantLogs || out.Stdout != wantLogs {
		t.Fatalf("logs: truncated=%v, %d bytes, tail %q", out.Truncated, len(out.Logs), out.Logs[max(0, len(out.Logs)-80):])
	}
	// The repr of the last expression is 20,002 characters: quotes around 20,000 x.
	if want := "'" + strings.Repeat("x", 9_999) + "\n... [output truncated: 10002 characters omitted by the primitive (limit 10000 characters)]"; out.Text() != want {
		t.Fatalf("result text tail %q", out.Text()[max(0, len(out.Text())-80):])
	}
}

func TestLocalStatelessAndSessionModes(t *testing.T) {
	ctx := context.Background()
	stateless := newExec(t, localProvider(t), sandbox.MaxSandboxes(1))
	if _, err := stateless.Execute(ctx, sandbox.CodeInput{Code: "x = 41"}); err != nil {
		t.Fatal(err)
	}
	out, err := stateless.Execute(ctx, sandbox.CodeInput{Code: "x + 1"})
	if err != nil || out.Success || out.ErrorName != "NameError" {
		t.Fatalf("stateless mode kept x: %v %+v", err, out)
	}
	if s := stateless.Pool().Stats(); s.Created != 1 {
		t.Fatalf("stateless mode did not reuse its sandbox: %+v", s)
	}

	session := newExec(t, localProvider(t), sandbox.MaxSandboxes(1), sandbox.SessionMode())
	if _, err := session.Execute(ctx, sandbox.CodeInput{Code: "x = 41"}); err != nil {
		t.Fatal(err)
	}
	out, err = session.Execute(ctx, sandbox.CodeInput{Code: "x + 1"})
	if err != nil || !out.Success || out.Text() != "42" || out.ExecutionCount != 2 {
		t.Fatalf("session mode lost x: %v %+v", err, out)
	}
}

// TestLocalRetryCachePipeline runs the seed's composition,
// Retry(Cache(codeExecution)), on real Python: a sandbox killed in the
// middle of the first attempt is retried on a fresh sandbox, and the
// repeated request is answered from the cache without running anything.
func TestLocalRetryCachePipeline(t *testing.T) {
	ce := newExec(t, localProvider(t), sandbox.MaxSandboxes(1))
	cached := performance.CacheBy(ce, func(in sandbox.CodeInput) string { return in.Code }, performance.TTL(time.Hour))
	defer cached.Close()
	var retries []error
	var mu sync.Mutex
	pipeline := recovery.Retry(cached, recovery.MaxRetries(3),
		recovery.InitialDelay(10*time.Millisecond),
		recovery.OnRetry(func(ev recovery.RetryEvent) {
			mu.Lock()
			retries = append(retries, ev.Err)
			mu.Unlock()
		}))

	before := childProcesses(t)
	in := sandbox.CodeInput{Code: "import time\ntime.sleep(0.5)\nprint(sum(range(10)))"}
	type result struct {
		out sandbox.CodeOutput
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := pipeline.Execute(workflowCtx("retry-cache"), in)
		done <- result{out, err}
	}()
	// Kill the first sandbox while its cell sleeps.
	var victim int
	eventually(t, "first sandbox running", func() bool {
		if ce.Pool().Stats().InUse != 1 {
			return false
		}
		for _, pid := range childProcesses(t) {
			if !slices.Contains(before, pid) {
				victim = pid
				return true
			}
		}
		return false
	})
	time.Sleep(150 * time.Millisecond)
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", victim, err)
	}
	r := <-done
	if r.err != nil || !r.out.Success || r.out.Logs != "45\n" {
		t.Fatalf("pipeline: %v %+v", r.err, r.out)
	}
	mu.Lock()
	if len(retries) != 1 || !recovery.IsRetryable(retries[0]) {
		t.Fatalf("retries: %v", retries)
	}
	mu.Unlock()
	if s := ce.Pool().Stats(); s.Created != 2 || s.Discarded != 1 {
		t.Fatalf("pool stats %+v: want the killed sandbox discarded and one fresh one", s)
	}

	again, err := pipeline.Execute(context.Background(), in)
	if err != nil || again.Logs != "45\n" || again.SandboxID != r.out.SandboxID {
		t.Fatalf("cached answer: %v %+v", err, again)
	}
	if cs := cached.Stats(); cs.Hits != 1 || cs.Loads != 2 {
		t.Fatalf("cache stats %+v: want one hit after two loads (the failed one and the retried one)", cs)
	}
}
