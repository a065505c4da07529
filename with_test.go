package primitives_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	p "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
)

// With adds to the options already given, as the recovery package's With
// methods do; a second call must not drop the first call's options.
func TestWithKeepsEarlierOptions(t *testing.T) {
	var running, peak atomic.Int32
	fail := errors.New("branch failed")
	branch := func(err error) p.Primitive[int, int] {
		return p.Func[int, int](func(_ context.Context, n int) (int, error) {
			cur := running.Add(1)
			for {
				old := peak.Load()
				if cur <= old || peak.CompareAndSwap(old, cur) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
			return n, err
		})
	}
	branches := []p.Primitive[int, int]{branch(fail), branch(nil), branch(nil), branch(nil)}
	out, err := p.Parallel(branches...).With(p.MaxConcurrency(1)).With(p.CollectAll()).Execute(context.Background(), 3)
	if !errors.Is(err, fail) || len(out) != 4 || out[3] != 3 {
		t.Fatalf("out %v err %v; CollectAll was not applied", out, err)
	}
	if got := peak.Load(); got != 1 {
		t.Fatalf("peak concurrency %d; the earlier MaxConcurrency(1) was dropped", got)
	}

	rec, tp := newRecorder(t)
	chain := p.Sequential(add(1), add(2)).With(observability.WithTracerProvider(tp)).With(observability.WithLogger(nil))
	if got, err := chain.Execute(context.Background(), 0); err != nil || got != 3 {
		t.Fatalf("got %d, %v", got, err)
	}
	if n := len(rec.Ended()); n != 2 {
		t.Fatalf("%d spans; the earlier tracer provider was dropped", n)
	}
}
