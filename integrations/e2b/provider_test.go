package e2b_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/integrations/e2b/e2btest"
	"github.com/ttadev/primitives/performance"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

func TestProviderRunResetClose(t *testing.T) {
	srv := newFake(t)
	p := newClient(t, srv).Provider()
	ctx := ctxTimeout(t, 30*time.Second)
	sb, err := p.Create(ctx, sandbox.CreateOptions{Env: map[string]string{"GREETING": "hello"}, Metadata: map[string]string{"owner": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	h, ok := e2b.SandboxOf(sb)
	if !ok || h.ID != sb.ID() {
		t.Fatal("SandboxOf")
	}
	ex, err := sb.Run(ctx, "import os\nn = 1\nprint(os.environ['GREETING'])", sandbox.RunOptions{})
	if err != nil || ex.StdoutText() != "hello\n" {
		t.Fatalf("%v %+v", err, ex)
	}
	if ex, _ := sb.Run(ctx, "n", sandbox.RunOptions{}); ex.Text() != "1" {
		t.Fatalf("state lost: %+v", ex)
	}
	if err := sb.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if ex, _ := sb.Run(ctx, "n", sandbox.RunOptions{}); ex.Error == nil || ex.Error.Name != "NameError" {
		t.Fatalf("state survived Reset: %+v", ex)
	}
	// Reset replaces a context that vanished.
	if err := h.RemoveContext(ctx, contextOf(t, h)); err != nil {
		t.Fatal(err)
	}
	if err := sb.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if ex, err := sb.Run(ctx, "2*3", sandbox.RunOptions{}); err != nil || ex.Text() != "6" {
		t.Fatalf("%v %+v", err, ex)
	}
	d, err := p.Client().Get(ctx, sb.ID())
	if err != nil || d.Metadata["owner"] != "test" {
		t.Fatalf("%v %+v", err, d)
	}
	if err := sb.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sb.Close(ctx); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := sb.Run(ctx, "1", sandbox.RunOptions{}); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("run after close: %v", err)
	}
	if st := srv.Stats(); st.Creates != 1 || st.Kills != 1 || st.Live != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// contextOf returns the context the provider created: the last listed,
// after the default python and javascript ones.
func contextOf(t *testing.T, h *e2b.Sandbox) string {
	t.Helper()
	list, err := h.ListContexts(context.Background())
	if err != nil || len(list) != 3 {
		t.Fatalf("%v %v", err, list)
	}
	return list[2].ID
}

func TestProviderWaitsForTheCodeInterpreter(t *testing.T) {
	srv := newFake(t)
	p := newClient(t, srv).Provider()
	srv.Inject(e2btest.Fault{Kind: e2btest.PortNotOpen, Op: e2btest.OpContext, Count: 3})
	sb, err := p.Create(ctxTimeout(t, 30*time.Second), sandbox.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.Background())
	if st := srv.Stats(); st.Faults != 3 || st.Live != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestNoLeakedSandboxes counts creates against kills on the fake across
// failing setups, failing executions, pool rotation and Close.
func TestNoLeakedSandboxes(t *testing.T) {
	srv := newFake(t, e2btest.WithKeepaliveInterval(10*time.Millisecond))
	ctx := ctxTimeout(t, 60*time.Second)
	p := newClient(t, srv).Provider()

	// The setup after creation fails for good: the sandbox is killed.
	srv.Inject(e2btest.Fault{Kind: e2btest.Status, Op: e2btest.OpContext, Status: 500})
	if _, err := p.Create(ctx, sandbox.CreateOptions{}); err == nil {
		t.Fatal("no error")
	}
	// The caller gives up while the setup waits for the sandbox.
	srv.Inject(e2btest.Fault{Kind: e2btest.PortNotOpen, Op: e2btest.OpContext, Count: -1})
	cctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	_, err := p.Create(cctx, sandbox.CreateOptions{})
	cancel()
	srv.ClearFaults()
	var su *e2b.SandboxUnavailableError
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &su) {
		t.Fatalf("giving up while the sandbox starts: err = %v, want the caller's deadline, not the sandbox's 502", err)
	}
	if st := srv.Stats(); st.Creates != 2 || st.Kills != 2 || st.Live != 0 {
		t.Fatalf("after failed setups: %+v", st)
	}

	// A primitive whose executions time out, are cut, or succeed, with
	// rotation after 2 uses.
	exec, err := e2b.NewCodeExecutionPrimitive(append(srv.PrimitiveOptions(), e2b.WithTimeout(2*time.Second),
		e2b.WithCodeOptions(sandbox.MaxSandboxes(2), sandbox.MaxUses(2)))...)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			code := "print(1)"
			if i == 2 {
				code = "while True: pass"
			}
			_, _ = exec.Execute(ctx, sandbox.CodeInput{Code: code})
		}(i)
	}
	srv.Inject(e2btest.Fault{Kind: e2btest.CutStream, Op: e2btest.OpExecute, AfterLines: 1})
	wg.Wait()
	if err := exec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if st.Creates < 3 || st.Creates != st.Kills || st.Live != 0 {
		t.Fatalf("leak: %+v", st)
	}
}

// The seed's usage examples, written once, run against any backend.
func seedExamples(t *testing.T, exec *sandbox.CodeExecution) {
	ctx := primitives.WithWorkflow(ctxTimeout(t, 60*time.Second),
		primitives.NewWorkflowContext(primitives.CorrelationID("exec-123")))

	// Basic execution.
	out, err := exec.Execute(ctx, sandbox.CodeInput{Code: "def factorial(n):\n    return 1 if n <= 1 else n * factorial(n-1)\n\nprint(factorial(5))\n"})
	if err != nil || !out.Success || out.Logs != "120\n" {
		t.Fatalf("basic: %v %+v", err, out)
	}
	// A syntax error is a result, not an error.
	out, err = exec.Execute(ctx, sandbox.CodeInput{Code: "print('missing quote)"})
	if err != nil || out.Success || !strings.HasPrefix(out.Error, "SyntaxError") {
		t.Fatalf("syntax error: %v %+v", err, out)
	}
	// Missing code is invalid input.
	if _, err = exec.Execute(ctx, sandbox.CodeInput{}); !errors.As(err, new(*recovery.InvalidInputError)) {
		t.Fatalf("empty code: %v", err)
	}
	if _, err = exec.Execute(ctx, sandbox.CodeInput{Code: "1", Timeout: -time.Second}); !errors.As(err, new(*recovery.InvalidInputError)) {
		t.Fatalf("negative timeout: %v", err)
	}
	// An infinite loop hits the timeout.
	_, err = exec.Execute(ctx, sandbox.CodeInput{Code: "while True: pass", Timeout: 300 * time.Millisecond})
	if !errors.Is(err, recovery.ErrTimeout) || recovery.IsRetryable(err) {
		t.Fatalf("timeout: %v", err)
	}
	// Retry and cache around the executor.
	var runs int
	counted := primitives.Func[sandbox.CodeInput, sandbox.CodeOutput](func(ctx context.Context, in sandbox.CodeInput) (sandbox.CodeOutput, error) {
		runs++
		return exec.Execute(ctx, in)
	})
	resilient := recovery.Retry(counted, recovery.MaxRetries(3), recovery.Exponential())
	cached := performance.CacheBy(resilient, func(in sandbox.CodeInput) string { return in.Code }, performance.TTL(time.Hour))
	for i := 0; i < 2; i++ {
		out, err = cached.Execute(ctx, sandbox.CodeInput{Code: "print('All tests passed!')"})
		if err != nil || out.Logs != "All tests passed!\n" {
			t.Fatalf("cached: %v %+v", err, out)
		}
	}
	if runs != 1 {
		t.Fatalf("the cache ran the code %d times", runs)
	}
	// The test-validation workflow: generate → execute → validate.
	generate := primitives.Lift(func(fn string) sandbox.CodeInput {
		return sandbox.CodeInput{Code: fn + "\nassert add(1, 2) == 3\nassert add(-1, 1) == 0\nprint('All tests passed!')"}
	})
	validate := primitives.Lift(func(o sandbox.CodeOutput) bool { return o.Success && strings.Contains(o.Logs, "passed") })
	workflow := primitives.Then(primitives.Then[string, sandbox.CodeInput, sandbox.CodeOutput](generate, exec), validate)
	ok, err := workflow.Execute(ctx, "def add(a, b):\n    return a + b")
	if err != nil || !ok {
		t.Fatalf("workflow: %v %v", err, ok)
	}
	ok, err = workflow.Execute(ctx, "def add(a, b):\n    return a - b")
	if err != nil || ok {
		t.Fatalf("workflow with a bug: %v %v", err, ok)
	}
}

func TestSeedExamplesOnTheFakeServer(t *testing.T) {
	srv := newFake(t)
	exec, err := e2b.NewCodeExecutionPrimitive(srv.PrimitiveOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	seedExamples(t, exec)
	if err := exec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.Live != 0 || st.Creates != st.Kills {
		t.Fatalf("stats %+v", st)
	}
}

func TestSeedExamplesOnTheLocalBackend(t *testing.T) {
	exec := sandbox.NewCodeExecution(localProvider(t))
	defer exec.Close(context.Background())
	seedExamples(t, exec)
}

func TestSessionModeKeepsStateAndStatelessDoesNot(t *testing.T) {
	srv := newFake(t)
	ctx := ctxTimeout(t, 30*time.Second)
	for _, tc := range []struct {
		opt  sandbox.CodeOption
		kept bool
	}{{sandbox.SessionMode(), true}, {sandbox.Stateless(), false}} {
		exec, err := e2b.NewCodeExecutionPrimitive(append(srv.PrimitiveOptions(),
			e2b.WithCodeOptions(tc.opt, sandbox.MaxSandboxes(1)))...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := exec.Execute(ctx, sandbox.CodeInput{Code: "x = 7"}); err != nil {
			t.Fatal(err)
		}
		// The stateless pool resets in the background; give it a moment by
		// waiting for the sandbox to be idle again.
		for exec.Pool().Stats().InUse > 0 {
			time.Sleep(5 * time.Millisecond)
		}
		out, err := exec.Execute(ctx, sandbox.CodeInput{Code: "print(x)"})
		if err != nil || out.Success != tc.kept {
			t.Fatalf("kept=%v: %v %+v", tc.kept, err, out)
		}
		if st := exec.Pool().Stats(); st.Created != 1 {
			t.Fatalf("the sandbox was not reused: %+v", st)
		}
		_ = exec.Close(ctx)
	}
}

func TestMissingKeyFailsThePrimitiveConstructor(t *testing.T) {
	t.Setenv(e2b.EnvAPIKey, "")
	if _, err := e2b.NewCodeExecutionPrimitive(); !errors.Is(err, e2b.ErrAuthentication) {
		t.Fatalf("err = %v", err)
	}
}
