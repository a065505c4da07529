package sandboxtest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/sandboxtest"
)

func TestRunFillsCountAndFiresCallbacksInOrder(t *testing.T) {
	p := sandboxtest.New(func(_ context.Context, _ *sandboxtest.Sandbox, code string, _ sandbox.RunOptions) (*sandbox.Execution, error) {
		return &sandbox.Execution{
			Stdout:  []sandbox.OutputMessage{{Text: "o1"}, {Text: "o2"}},
			Stderr:  []sandbox.OutputMessage{{Text: "e1", Error: true}},
			Results: []sandbox.Result{{IsMainResult: true, Text: code}},
			Error:   &sandbox.ExecutionError{Name: "E", Value: "v"},
		}, nil
	})
	ctx := context.Background()
	sb, err := p.Create(ctx, sandbox.CreateOptions{Template: "t"})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	opts := sandbox.RunOptions{
		OnStdout: func(m sandbox.OutputMessage) { seen = append(seen, "out:"+m.Text) },
		OnStderr: func(m sandbox.OutputMessage) { seen = append(seen, "err:"+m.Text) },
		OnResult: func(r sandbox.Result) { seen = append(seen, "result:"+r.Text) },
		OnError:  func(e sandbox.ExecutionError) { seen = append(seen, "error:"+e.String()) },
	}
	for i := 1; i <= 2; i++ {
		exec, err := sb.Run(ctx, "c", opts)
		if err != nil || exec.ExecutionCount != i {
			t.Fatalf("run %d: %v %+v", i, err, exec)
		}
	}
	if got := strings.Join(seen[:5], ","); got != "out:o1,out:o2,err:e1,result:c,error:E: v" {
		t.Fatalf("callbacks: %s", got)
	}
	if sb.(*sandboxtest.Sandbox).Options().Template != "t" || sb.ID() != "test-1" {
		t.Fatal("options or id not kept")
	}
}

func TestTimeoutKillsTheSandbox(t *testing.T) {
	p := sandboxtest.New(func(ctx context.Context, _ *sandboxtest.Sandbox, _ string, _ sandbox.RunOptions) (*sandbox.Execution, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	sb, _ := p.Create(context.Background(), sandbox.CreateOptions{})
	_, err := sb.Run(context.Background(), "loop", sandbox.RunOptions{Timeout: 10 * time.Millisecond})
	var te *recovery.TimeoutError
	if !errors.As(err, &te) || te.After != 10*time.Millisecond {
		t.Fatalf("err = %v, want *recovery.TimeoutError", err)
	}
	if _, err := sb.Run(context.Background(), "x", sandbox.RunOptions{}); !errors.Is(err, sandbox.ErrCrashed) {
		t.Fatalf("run on a timed-out sandbox: %v", err)
	}
	// The caller's own cancellation is not a timeout.
	sb2, _ := p.Create(context.Background(), sandbox.CreateOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sb2.Run(ctx, "x", sandbox.RunOptions{Timeout: time.Hour}); !errors.Is(err, context.Canceled) || errors.Is(err, recovery.ErrTimeout) {
		t.Fatalf("cancelled run: %v", err)
	}
}

func TestRejectsOtherLanguagesAndClosedUse(t *testing.T) {
	p := sandboxtest.New(func(context.Context, *sandboxtest.Sandbox, string, sandbox.RunOptions) (*sandbox.Execution, error) {
		return sandboxtest.Output("x"), nil
	})
	sb, _ := p.Create(context.Background(), sandbox.CreateOptions{})
	var lang *sandbox.UnsupportedLanguageError
	if _, err := sb.Run(context.Background(), "x", sandbox.RunOptions{Language: "r"}); !errors.As(err, &lang) {
		t.Fatalf("err = %v", err)
	}
	tsb := sb.(*sandboxtest.Sandbox)
	if err := sb.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = sb.Close(context.Background())
	select {
	case <-tsb.Done():
	default:
		t.Fatal("Done not closed")
	}
	if !tsb.Closed() {
		t.Fatal("Closed() false")
	}
	if _, err := sb.Run(context.Background(), "x", sandbox.RunOptions{}); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	if err := sb.Reset(context.Background()); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Reset after Close: %v", err)
	}
	if s := p.Stats(); s.Closed != 1 || s.Live != 0 || s.Created != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCountsOverlappingRuns(t *testing.T) {
	gate := make(chan struct{})
	p := sandboxtest.New(func(context.Context, *sandboxtest.Sandbox, string, sandbox.RunOptions) (*sandbox.Execution, error) {
		<-gate
		return &sandbox.Execution{}, nil
	})
	sb, _ := p.Create(context.Background(), sandbox.CreateOptions{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { _, _ = sb.Run(context.Background(), "x", sandbox.RunOptions{}) })
	}
	for p.Stats().Runs < 2 {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	if s := p.Stats(); s.Overlaps != 1 {
		t.Fatalf("overlaps = %d, want 1", s.Overlaps)
	}
}

func TestResetClearsStateAndCallsHook(t *testing.T) {
	fail := errors.New("no reset")
	p := sandboxtest.New(func(_ context.Context, sb *sandboxtest.Sandbox, code string, _ sandbox.RunOptions) (*sandbox.Execution, error) {
		sb.Set("k", code)
		return &sandbox.Execution{}, nil
	}, sandboxtest.OnReset(func(sb *sandboxtest.Sandbox) error {
		if _, ok := sb.Get("k"); ok {
			return errors.New("state survived the reset")
		}
		return fail
	}))
	sb, _ := p.Create(context.Background(), sandbox.CreateOptions{})
	_, _ = sb.Run(context.Background(), "v", sandbox.RunOptions{})
	if v, _ := sb.(*sandboxtest.Sandbox).Get("k"); v != "v" {
		t.Fatalf("state %q", v)
	}
	if err := sb.Reset(context.Background()); !errors.Is(err, fail) {
		t.Fatalf("Reset = %v", err)
	}
	exec, _ := sb.Run(context.Background(), "w", sandbox.RunOptions{})
	if exec.ExecutionCount != 1 {
		t.Fatalf("execution count after reset: %d", exec.ExecutionCount)
	}
}

func TestCreateHooksAndDelay(t *testing.T) {
	p := sandboxtest.New(func(context.Context, *sandboxtest.Sandbox, string, sandbox.RunOptions) (*sandbox.Execution, error) {
		return nil, nil
	}, sandboxtest.Name("fake"), sandboxtest.CreateDelay(time.Hour), sandboxtest.OnCreate(func(_ context.Context, n int, _ sandbox.CreateOptions) error {
		return fmt.Errorf("creation %d refused", n)
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := p.Create(ctx, sandbox.CreateOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delayed creation: %v", err)
	}
	p2 := sandboxtest.New(func(context.Context, *sandboxtest.Sandbox, string, sandbox.RunOptions) (*sandbox.Execution, error) {
		return nil, nil
	}, sandboxtest.OnCreate(func(_ context.Context, n int, _ sandbox.CreateOptions) error {
		if n == 1 {
			return errors.New("refused")
		}
		return nil
	}))
	if _, err := p2.Create(context.Background(), sandbox.CreateOptions{}); err == nil {
		t.Fatal("hook error ignored")
	}
	a, _ := p2.Create(context.Background(), sandbox.CreateOptions{})
	b, _ := p2.Create(context.Background(), sandbox.CreateOptions{})
	_ = a.Close(context.Background())
	if s := p2.Stats(); s.Created != 2 || s.CreateFailures != 1 || s.PeakLive != 2 || s.Live != 1 || len(p2.Sandboxes()) != 2 || b.ID() != "test-3" {
		t.Fatalf("stats %+v, ids %s", s, b.ID())
	}
	if p.Name() != "fake" || p.Stats().CreateFailures != 1 {
		t.Fatal("name or failure count")
	}
	// A nil execution with a nil error becomes an empty execution.
	exec, err := a.(*sandboxtest.Sandbox).Run(context.Background(), "x", sandbox.RunOptions{})
	if !errors.Is(err, sandbox.ErrClosed) || exec != nil {
		t.Fatalf("closed sandbox ran: %v", err)
	}
	exec, err = b.Run(context.Background(), "x", sandbox.RunOptions{})
	if err != nil || exec == nil || exec.ExecutionCount != 1 {
		t.Fatalf("nil execution: %v %+v", err, exec)
	}
}

func TestNewPanicsOnNil(t *testing.T) {
	defer func() {
		if msg, _ := recover().(string); !strings.HasPrefix(msg, "sandboxtest: New: ") {
			t.Fatalf("panic %q", msg)
		}
	}()
	sandboxtest.New(nil)
}

// A test provider stands in for a real backend when testing how a
// pipeline is wired.
func ExampleNew() {
	prov := sandboxtest.New(func(_ context.Context, _ *sandboxtest.Sandbox, code string, _ sandbox.RunOptions) (*sandbox.Execution, error) {
		if strings.Contains(code, "raise") {
			return sandboxtest.Raise("RuntimeError", "boom"), nil
		}
		return sandboxtest.Output("ok\n"), nil
	})
	exec := sandbox.NewCodeExecution(prov)
	defer exec.Close(context.Background())

	out, _ := exec.Execute(context.Background(), sandbox.CodeInput{Code: "raise RuntimeError('boom')"})
	fmt.Println(out.Success, out.Error)
	fmt.Println("sandboxes created:", prov.Stats().Created)
	// Output:
	// false RuntimeError: boom
	// sandboxes created: 1
}
