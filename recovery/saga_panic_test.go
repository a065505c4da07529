package recovery_test

import (
	"context"
	"testing"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/recovery"
)

// A step that panics: the completed steps are undone, then the panic
// reaches the caller with its own value (the module's panic policy).
func TestSagaStepPanicIsCompensated(t *testing.T) {
	var l ledger
	panicky := primitives.Func[int, int](func(context.Context, int) (int, error) { panic("charge exploded") })
	s := recovery.Saga(
		recovery.Step(l.action("reserve", 1, nil), l.undo("release", nil)),
		recovery.Step(panicky, l.undo("never", nil)),
	)
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		_, _ = s.Execute(context.Background(), 0)
	}()
	if l.String() != "[reserve(0) release(0->1,true,live=true)]" {
		t.Fatalf("calls %s; the completed step must be compensated", l.String())
	}
	if recovered != "charge exploded" {
		t.Fatalf("recovered %v; the step's panic must reach the caller after compensation", recovered)
	}
}
