package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/codes"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
)

// recorded returns a primitive that appends name to *order and then
// answers with v or err.
func recorded(mu *sync.Mutex, order *[]string, name string, v int, err error) primitives.Primitive[int, int] {
	return primitives.Func[int, int](func(context.Context, int) (int, error) {
		mu.Lock()
		*order = append(*order, name)
		mu.Unlock()
		return v, err
	})
}

func TestFallbackPrimarySucceeds(t *testing.T) {
	var mu sync.Mutex
	var order []string
	f := recovery.Fallback(recorded(&mu, &order, "primary", 1, nil), recorded(&mu, &order, "alt", 2, nil))
	out, err := f.Execute(context.Background(), 0)
	if err != nil || out != 1 || fmt.Sprint(order) != "[primary]" {
		t.Fatalf("got %d, %v, calls %v", out, err, order)
	}
}

func TestFallbackChainOfMany(t *testing.T) {
	var mu sync.Mutex
	var order []string
	boom := errors.New("boom")
	f := recovery.Fallback(
		recorded(&mu, &order, "p", 0, boom),
		recorded(&mu, &order, "a1", 0, boom),
		recorded(&mu, &order, "a2", 0, boom),
		recorded(&mu, &order, "a3", 0, boom),
		recorded(&mu, &order, "a4", 44, nil),
		recorded(&mu, &order, "a5", 55, nil),
	)
	if f.Len() != 6 {
		t.Fatalf("Len = %d", f.Len())
	}
	out, err := f.Execute(context.Background(), 0)
	if err != nil || out != 44 {
		t.Fatalf("got %d, %v", out, err)
	}
	if fmt.Sprint(order) != "[p a1 a2 a3 a4]" {
		t.Fatalf("call order %v", order)
	}
}

func TestFallbackAllFailJoinsErrorsPrimaryFirst(t *testing.T) {
	e0, e1, e2 := errors.New("primary down"), errors.New("cache miss"), &recovery.InvalidInputError{Reason: "no default"}
	_, err := recovery.Fallback(failing(e0), failing(e1), failing(e2)).Execute(context.Background(), 0)
	var fe *recovery.FallbackError
	if !errors.As(err, &fe) {
		t.Fatalf("err %T is not a *FallbackError", err)
	}
	if len(fe.Errs) != 3 || fe.Errs[0] != e0 || fe.Errs[1] != e1 || fe.Errs[2] != e2 {
		t.Fatalf("Errs %v", fe.Errs)
	}
	var bad *recovery.InvalidInputError
	if !errors.Is(err, e0) || !errors.Is(err, e1) || !errors.As(err, &bad) {
		t.Fatal("errors.Is/As do not reach every error")
	}
	want := "fallback: all 3 failed: primary: primary down; alternative 1: cache miss; alternative 2: invalid input: no default"
	if err.Error() != want {
		t.Fatalf("message %q", err.Error())
	}
}

func TestFallbackIfRefuses(t *testing.T) {
	var mu sync.Mutex
	var order []string
	bad := &recovery.InvalidInputError{Reason: "empty"}
	onlyRetryable := recovery.FallbackIf(recovery.IsRetryable)
	f := recovery.Fallback(recorded(&mu, &order, "p", 0, bad), recorded(&mu, &order, "alt", 1, nil)).With(onlyRetryable)
	_, err := f.Execute(context.Background(), 0)
	if err != bad || fmt.Sprint(order) != "[p]" {
		t.Fatalf("err %v, calls %v; want the refused error unchanged and no alternative", err, order)
	}
	// The same chain moves on for an error the predicate accepts.
	order = nil
	f2 := recovery.Fallback(recorded(&mu, &order, "p", 0, errTransient), recorded(&mu, &order, "alt", 1, nil)).With(onlyRetryable)
	if out, err := f2.Execute(context.Background(), 0); err != nil || out != 1 {
		t.Fatalf("got %d, %v", out, err)
	}
}

func TestFallbackStopsWhenCallerCancelled(t *testing.T) {
	var mu sync.Mutex
	var order []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	primary := primitives.Func[int, int](func(ctx context.Context, int2 int) (int, error) {
		cancel()
		return 0, ctx.Err()
	})
	_, err := recovery.Fallback(primary, recorded(&mu, &order, "alt", 1, nil)).Execute(ctx, 0)
	if !errors.Is(err, context.Canceled) || len(order) != 0 {
		t.Fatalf("err %v, alternatives called %v", err, order)
	}
}

func TestFallbackSpans(t *testing.T) {
	rec, tp := newRecorder(t)
	boom := errors.New("boom")
	f := recovery.Fallback(failing(boom), failing(boom), constant(7)).With(observability.WithTracerProvider(tp))
	if out, err := f.Execute(context.Background(), 0); err != nil || out != 7 {
		t.Fatalf("got %d, %v", out, err)
	}
	for i, name := range []string{"fallback.primary", "fallback.alternative_1", "fallback.alternative_2"} {
		s := spanByName(t, rec, name)
		if v, _ := attr(s, "fallback.index"); v.AsInt64() != int64(i) {
			t.Fatalf("%s index %v", name, v.AsInt64())
		}
		want := codes.Error
		if i == 2 {
			want = codes.Ok
		}
		if s.Status().Code != want {
			t.Fatalf("%s status %v", name, s.Status())
		}
	}
}
