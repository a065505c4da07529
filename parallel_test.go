package primitives_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	p "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

func TestParallelKeepsBranchOrder(t *testing.T) {
	branches := make([]p.Primitive[int, int], 10)
	for i := range branches {
		delay := time.Duration(10-i) * time.Millisecond // later branches finish first
		branches[i] = p.Func[int, int](func(_ context.Context, n int) (int, error) {
			time.Sleep(delay)
			return n + i, nil
		})
	}
	got, err := p.Parallel(branches...).Execute(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != 100+i {
			t.Fatalf("result %d = %d, want %d (all: %v)", i, v, 100+i, got)
		}
	}
}

func TestParallelFirstErrorCancelsOthers(t *testing.T) {
	boom := errors.New("boom")
	var causeSeen atomic.Value
	slow := p.Func[int, int](func(ctx context.Context, n int) (int, error) {
		select {
		case <-ctx.Done():
			causeSeen.Store(context.Cause(ctx))
			return 0, ctx.Err()
		case <-time.After(5 * time.Second):
			return n, nil
		}
	})
	fail := p.Func[int, int](func(context.Context, int) (int, error) {
		time.Sleep(5 * time.Millisecond)
		return 0, boom
	})
	start := time.Now()
	_, err := p.Parallel(slow, fail, slow).Execute(context.Background(), 1)
	if time.Since(start) > 2*time.Second {
		t.Fatal("slow branches were not cancelled")
	}
	var be *p.BranchError
	if !errors.As(err, &be) || be.Index != 1 || !errors.Is(err, boom) {
		t.Fatalf("err = %v; want *BranchError{Index:1} wrapping boom", err)
	}
	if err.Error() != "parallel branch 1: boom" {
		t.Fatalf("message %q", err.Error())
	}
	c, _ := causeSeen.Load().(error)
	if !errors.Is(c, boom) {
		t.Fatalf("cancelled branch saw cause %v, want the failing branch's error", c)
	}
}

func TestParallelCollectAll(t *testing.T) {
	e1, e3 := errors.New("one"), errors.New("three")
	fail := func(err error) p.Primitive[int, int] {
		return p.Func[int, int](func(context.Context, int) (int, error) { return 0, err })
	}
	out, err := p.Parallel(add(1), fail(e1), add(2), fail(e3)).With(p.CollectAll()).Execute(context.Background(), 10)
	if !errors.Is(err, e1) || !errors.Is(err, e3) {
		t.Fatalf("err %v does not join both failures", err)
	}
	if out[0] != 11 || out[2] != 12 || out[1] != 0 || out[3] != 0 {
		t.Fatalf("outputs %v", out)
	}
	var be *p.BranchError
	if !errors.As(err, &be) || be.Index != 1 {
		t.Fatalf("first joined error should be branch 1: %v", err)
	}
}

func TestParallelMaxConcurrency(t *testing.T) {
	var running, peak atomic.Int32
	branch := p.Func[int, int](func(_ context.Context, n int) (int, error) {
		cur := running.Add(1)
		for {
			old := peak.Load()
			if cur <= old || peak.CompareAndSwap(old, cur) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		running.Add(-1)
		return n, nil
	})
	branches := make([]p.Primitive[int, int], 12)
	for i := range branches {
		branches[i] = branch
	}
	out, err := p.Parallel(branches...).With(p.MaxConcurrency(3)).Execute(context.Background(), 7)
	if err != nil || len(out) != 12 {
		t.Fatalf("out %v err %v", out, err)
	}
	if got := peak.Load(); got > 3 || got < 1 {
		t.Fatalf("peak concurrency %d, want 1..3", got)
	}
}

func TestParallelPanicBecomesError(t *testing.T) {
	boom := p.Func[int, int](func(context.Context, int) (int, error) { panic("kaboom") })
	_, err := p.Parallel(add(1), boom).Execute(context.Background(), 1)
	var pe *p.PanicError
	if !errors.As(err, &pe) || pe.Value != "kaboom" || len(pe.Stack) == 0 {
		t.Fatalf("err = %v; want a *PanicError with a stack", err)
	}
	var be *p.BranchError
	if !errors.As(err, &be) || be.Index != 1 {
		t.Fatalf("panic not attributed to branch 1: %v", err)
	}
}

func TestParallelGivesBranchesChildWorkflowContexts(t *testing.T) {
	parent := p.NewWorkflowContext(p.CorrelationID("corr-1"), p.CausationID("upstream"))
	parent.Set("shared", "seen")
	ctx := p.WithWorkflow(context.Background(), parent)
	var mu sync.Mutex
	seen := map[*p.WorkflowContext]bool{}
	branch := p.Func[int, int](func(ctx context.Context, n int) (int, error) {
		wf := p.WorkflowFrom(ctx)
		if wf == nil || wf == parent {
			return 0, errors.New("branch did not get a child context")
		}
		if wf.CorrelationID() != "corr-1" || wf.CausationID() != "upstream" {
			return 0, errors.New("child ids wrong: " + wf.CorrelationID() + " " + wf.CausationID())
		}
		if v, _ := wf.Get("shared"); v != "seen" {
			return 0, errors.New("child does not see parent state")
		}
		wf.Set("written_by_branch", n)
		mu.Lock()
		seen[wf] = true
		mu.Unlock()
		return n, nil
	})
	if _, err := p.Parallel(branch, branch, branch).Execute(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 {
		t.Fatalf("%d distinct child contexts, want 3", len(seen))
	}
	if _, ok := parent.Get("written_by_branch"); ok {
		t.Fatal("branch state flowed back into the parent")
	}
}

func TestParallelSpans(t *testing.T) {
	rec, tp := newRecorder(t)
	ctx := p.WithWorkflow(context.Background(), p.NewWorkflowContext(p.CorrelationID("c-9")))
	ctx, root := tp.Tracer("test").Start(ctx, "root")
	_, err := p.Parallel(add(1), add(2)).With(observability.WithTracerProvider(tp)).Execute(ctx, 0)
	root.End()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range rec.Ended() {
		if s.Name() == "root" {
			continue
		}
		names[s.Name()] = true
		if s.Parent().SpanID() != root.SpanContext().SpanID() {
			t.Fatalf("%s is not a child of the caller's span", s.Name())
		}
		wantAttr(t, s.Attributes(), "correlation_id", "c-9")
	}
	if !names["parallel.branch_0"] || !names["parallel.branch_1"] {
		t.Fatalf("span names %v", names)
	}
}

func TestParallelCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := atomic.Int32{}
	b := p.Func[int, int](func(context.Context, int) (int, error) { ran.Add(1); return 0, nil })
	if _, err := p.Parallel(b, b).Execute(ctx, 0); !errors.Is(err, context.Canceled) || ran.Load() != 0 {
		t.Fatalf("err %v ran %d", err, ran.Load())
	}
}
