package recovery_test

import (
	"context"
	"errors"
	"testing"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/recovery"
)

// A step that panics has failed like any other: the completed steps are
// undone, and the panic comes back as a *primitives.PanicError.
func TestSagaStepPanicIsCompensated(t *testing.T) {
	var l ledger
	panicky := primitives.Func[int, int](func(context.Context, int) (int, error) { panic("charge exploded") })
	s := recovery.Saga(
		recovery.Step(l.action("reserve", 1, nil), l.undo("release", nil)),
		recovery.Step(panicky, l.undo("never", nil)),
	)
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("the step's panic escaped the saga: %v", r)
			}
		}()
		_, err = s.Execute(context.Background(), 0)
	}()
	if l.String() != "[reserve(0) release(0->1,true,live=true)]" {
		t.Fatalf("calls %s; the completed step must be compensated", l.String())
	}
	var se *recovery.SagaError
	var pe *primitives.PanicError
	if !errors.As(err, &se) || se.Step != 1 || !errors.As(err, &pe) || pe.Value != "charge exploded" {
		t.Fatalf("err %v; want a *SagaError for step 1 wrapping the panic", err)
	}
}
