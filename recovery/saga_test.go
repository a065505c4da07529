package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
)

// ledger records the calls of a saga's actions and compensations.
type ledger struct {
	mu    sync.Mutex
	calls []string
}

func (l *ledger) add(s string) {
	l.mu.Lock()
	l.calls = append(l.calls, s)
	l.mu.Unlock()
}

func (l *ledger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.calls)
}

// action adds delta to its input, or fails with err.
func (l *ledger) action(name string, delta int, err error) primitives.Primitive[int, int] {
	return primitives.Func[int, int](func(_ context.Context, n int) (int, error) {
		l.add(fmt.Sprintf("%s(%d)", name, n))
		if err != nil {
			return 0, err
		}
		return n + delta, nil
	})
}

// undo records the input it received and the step's output.
func (l *ledger) undo(name string, err error) primitives.Primitive[int, int] {
	return primitives.Func[int, int](func(ctx context.Context, n int) (int, error) {
		out, ok := recovery.CompensatedOutput[int](ctx)
		l.add(fmt.Sprintf("%s(%d->%d,%v,live=%v)", name, n, out, ok, ctx.Err() == nil))
		return 0, err
	})
}

func TestSagaAllStepsSucceed(t *testing.T) {
	var l ledger
	s := recovery.Saga(recovery.Step(l.action("a", 1, nil), l.undo("undoA", nil)),
		recovery.Step(l.action("b", 10, nil), nil))
	out, err := s.Execute(context.Background(), 5)
	if err != nil || out != 16 {
		t.Fatalf("got %d, %v", out, err)
	}
	if l.String() != "[a(5) b(6)]" {
		t.Fatalf("calls %s", l.String())
	}
}

func TestSagaCompensatesInReverseWithOriginalInputs(t *testing.T) {
	var l ledger
	boom := errors.New("payment declined")
	s := recovery.Saga(
		recovery.Step(l.action("reserve", 1, nil), l.undo("release", nil)),
		recovery.Step(l.action("notify", 10, nil), nil),
		recovery.Step(l.action("hold", 100, nil), l.undo("unhold", nil)),
		recovery.Step(l.action("charge", 1000, boom), l.undo("refund", nil)),
		recovery.Step(l.action("ship", 0, nil), nil),
	)
	_, err := s.Execute(context.Background(), 0)
	want := "[reserve(0) notify(1) hold(11) charge(111) unhold(11->111,true,live=true) release(0->1,true,live=true)]"
	if l.String() != want {
		t.Fatalf("calls\n %s\nwant\n %s", l.String(), want)
	}
	var se *recovery.SagaError
	if !errors.As(err, &se) || se.Step != 3 || se.Err != boom || !errors.Is(err, boom) {
		t.Fatalf("err %v; want a *SagaError for step 3 wrapping the step's error", err)
	}
	if fmt.Sprint(se.Compensated) != "[2 0]" || len(se.CompensationErrors) != 0 {
		t.Fatalf("compensated %v, failures %v", se.Compensated, se.CompensationErrors)
	}
	if err.Error() != "saga: step 3 failed: payment declined" {
		t.Fatalf("message %q", err.Error())
	}
}

func TestSagaReportsEveryCompensationFailure(t *testing.T) {
	var l ledger
	stepErr, undo1Err, undo0Err := errors.New("step 2 down"), errors.New("undo 1 down"), errors.New("undo 0 down")
	s := recovery.Saga(
		recovery.Step(l.action("s0", 1, nil), l.undo("u0", undo0Err)),
		recovery.Step(l.action("s1", 1, nil), l.undo("u1", undo1Err)),
		recovery.Step(l.action("s2", 1, stepErr), nil),
	)
	_, err := s.Execute(context.Background(), 0)
	var se *recovery.SagaError
	if !errors.As(err, &se) || len(se.CompensationErrors) != 2 || len(se.Compensated) != 0 {
		t.Fatalf("err %#v", err)
	}
	if se.CompensationErrors[0].Step != 1 || se.CompensationErrors[1].Step != 0 {
		t.Fatalf("compensation failures in order %d, %d; want 1, 0", se.CompensationErrors[0].Step, se.CompensationErrors[1].Step)
	}
	for _, target := range []error{stepErr, undo1Err, undo0Err} {
		if !errors.Is(err, target) {
			t.Fatalf("errors.Is does not reach %v", target)
		}
	}
	var ce *recovery.CompensationError
	if !errors.As(err, &ce) || ce.Step != 1 {
		t.Fatalf("errors.As *CompensationError: %v", ce)
	}
	want := "saga: step 2 failed: step 2 down; compensation of step 1 failed: undo 1 down; compensation of step 0 failed: undo 0 down"
	if err.Error() != want {
		t.Fatalf("message %q", err.Error())
	}
}

func TestSagaCompensationPanicDoesNotStopOthers(t *testing.T) {
	var l ledger
	panicky := primitives.Func[int, int](func(context.Context, int) (int, error) { panic("undo exploded") })
	s := recovery.Saga(
		recovery.Step(l.action("s0", 1, nil), l.undo("u0", nil)),
		recovery.Step(l.action("s1", 1, nil), panicky),
		recovery.Step(l.action("s2", 1, errBench), nil),
	)
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		_, _ = s.Execute(context.Background(), 0)
	}()
	if recovered != "undo exploded" {
		t.Fatalf("recovered %v; the compensation's panic must reach the caller once the others ran", recovered)
	}
	if l.String() != "[s0(0) s1(1) s2(2) u0(0->1,true,live=true)]" {
		t.Fatalf("calls %s", l.String())
	}
}

func TestSagaCompensatesAfterCancellation(t *testing.T) {
	var l ledger
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wf := primitives.NewWorkflowContext(primitives.CorrelationID("order-7"))
	ctx = primitives.WithWorkflow(ctx, wf)
	var corr string
	undo := primitives.Func[int, int](func(ctx context.Context, n int) (int, error) {
		if w := primitives.WorkflowFrom(ctx); w != nil {
			corr = w.CorrelationID()
		}
		return l.undo("u0", nil).Execute(ctx, n)
	})
	cancelling := primitives.Func[int, int](func(ctx context.Context, n int) (int, error) {
		cancel() // the caller gives up while this step runs
		return 0, ctx.Err()
	})
	s := recovery.Saga(
		recovery.Step(l.action("s0", 1, nil), undo),
		recovery.Step(cancelling, nil),
		recovery.Step(l.action("never", 1, nil), nil),
	)
	_, err := s.Execute(ctx, 0)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if l.String() != "[s0(0) u0(0->1,true,live=true)]" {
		t.Fatalf("calls %s; the compensation must run with a live context", l.String())
	}
	if corr != "order-7" {
		t.Fatalf("compensation saw correlation id %q; context values must be kept", corr)
	}
}

func TestCompensatedOutputOutsideSaga(t *testing.T) {
	if _, ok := recovery.CompensatedOutput[int](context.Background()); ok {
		t.Fatal("CompensatedOutput reported a value outside a compensation")
	}
}

func TestSagaSpans(t *testing.T) {
	rec, tp := newRecorder(t)
	var l ledger
	s := recovery.Saga(
		recovery.Step(l.action("s0", 1, nil), l.undo("u0", nil)),
		recovery.Step(l.action("s1", 1, nil), l.undo("u1", nil)),
		recovery.Step(l.action("s2", 1, errBench), nil),
	).With(observability.WithTracerProvider(tp))
	if _, err := s.Execute(context.Background(), 0); err == nil {
		t.Fatal("no error")
	}
	root := spanByName(t, rec, "saga")
	if v, _ := attr(root, "saga.failed_step"); v.AsInt64() != 2 {
		t.Fatalf("saga.failed_step = %v", v.AsInt64())
	}
	var order []string
	for _, sp := range rec.Ended() {
		if sp.Name() == "saga" {
			continue
		}
		if sp.Parent().SpanID() != root.SpanContext().SpanID() {
			t.Fatalf("%s is not a child of the saga span", sp.Name())
		}
		order = append(order, sp.Name())
	}
	want := "[saga.step_0 saga.step_1 saga.step_2 saga.compensation_1 saga.compensation_0]"
	if fmt.Sprint(order) != want {
		t.Fatalf("spans %v, want %s", order, want)
	}
}
