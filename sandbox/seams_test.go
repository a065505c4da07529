package sandbox_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/sandboxtest"
)

// Regression tests of the seams between combinators (the full composition
// conformance matrix is in the root package's matrix_test.go).

// errorTypes returns the error.type attributes counted by
// code_execution_error_total.
func errorTypes(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != observability.MetricCodeErrors {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				v, _ := dp.Attributes.Value(attribute.Key(observability.AttrErrorType))
				got[v.AsString()] += dp.Value
			}
		}
	}
	return got
}

// An execution cancelled because a Parallel sibling failed is counted as
// cancelled, whatever the cancellation's cause: the classification asks
// the context, not the error's shape.
func TestCodeExecutionCancelledWithCauseIsCanceled(t *testing.T) {
	started := make(chan struct{})
	prov := sandboxtest.New(func(ctx context.Context, _ *sandboxtest.Sandbox, _ string, _ sandbox.RunOptions) (*sandbox.Execution, error) {
		close(started)
		<-ctx.Done()
		return nil, context.Cause(ctx) // the sibling's *BranchError
	})
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	exec := newExec(t, prov, observability.WithMeterProvider(mp))
	run := primitives.Func[int, int](func(ctx context.Context, n int) (int, error) {
		_, err := exec.Execute(ctx, sandbox.CodeInput{Code: "x"})
		return n, err
	})
	sibling := primitives.Func[int, int](func(context.Context, int) (int, error) {
		<-started
		return 0, errors.New("sibling failed")
	})
	if _, err := primitives.Parallel(run, sibling).Execute(context.Background(), 0); err == nil {
		t.Fatal("no error")
	}
	if got := errorTypes(t, reader); got[observability.ErrorTypeCanceled] != 1 || len(got) != 1 {
		t.Fatalf("error types %v; want one %q", got, observability.ErrorTypeCanceled)
	}
}

// A sandbox whose Run panics does not take the pool's slot with it: the
// panic reaches the caller, the sandbox is discarded, and the next caller
// gets a sandbox.
func TestCodeExecutionPanicDoesNotLeakTheLease(t *testing.T) {
	first := true
	prov := sandboxtest.New(func(ctx context.Context, sb *sandboxtest.Sandbox, code string, opts sandbox.RunOptions) (*sandbox.Execution, error) {
		if first {
			first = false
			panic("backend bug")
		}
		return script(nil)(ctx, sb, code, opts)
	})
	exec := newExec(t, prov, sandbox.MaxSandboxes(1))
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		_, _ = exec.Execute(context.Background(), sandbox.CodeInput{Code: "print:x"})
	}()
	if recovered != "backend bug" {
		t.Fatalf("recovered %v; the panic must reach the caller", recovered)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.Execute(ctx, sandbox.CodeInput{Code: "print:y"})
	if err != nil || out.Logs != "y" {
		t.Fatalf("next call: %+v, %v; the pool's only slot was lost to the panic", out, err)
	}
	if s := exec.Pool().Stats(); s.Discarded != 1 {
		t.Fatalf("pool stats %+v; the panicked sandbox must be discarded", s)
	}
}

// CodeInput{Timeout: 60} compiles and means 60 ns: a timeout below a
// millisecond is invalid input whose message says what was probably meant.
func TestSubMillisecondTimeoutIsInvalidWithAHint(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	exec := newExec(t, prov)
	_, err := exec.Execute(context.Background(), sandbox.CodeInput{Code: "print:x", Timeout: 60})
	var bad *recovery.InvalidInputError
	if !errors.As(err, &bad) || bad.Field != "timeout" || !strings.Contains(err.Error(), "did you mean 60*time.Second?") {
		t.Fatalf("err %v; want invalid input with a hint", err)
	}
	if prov.Stats().Created != 0 {
		t.Fatal("a sandbox was created for invalid input")
	}
}

// Per-execution log records are Debug unless asked: a program logging at
// Info sees none.
func TestExecutionRecordsAreDebugByDefault(t *testing.T) {
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	exec := newExec(t, sandboxtest.New(script(nil)), observability.WithLogger(logger))
	if _, err := exec.Execute(context.Background(), sandbox.CodeInput{Code: "print:x"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "code execution") {
		t.Fatalf("an execution was logged at Info: %s", buf.String())
	}
}

// closingProvider records whether it was closed.
type closingProvider struct {
	*sandboxtest.Provider
	closed bool
}

func (c *closingProvider) Close() error { c.closed = true; return nil }

// With OwnProvider, one Close releases the provider too.
func TestOwnProviderIsClosedWithThePrimitive(t *testing.T) {
	owned := &closingProvider{Provider: sandboxtest.New(script(nil))}
	exec := sandbox.NewCodeExecution(owned, sandbox.OwnProvider())
	if err := exec.Close(context.Background()); err != nil || !owned.closed {
		t.Fatalf("close: %v, provider closed %v", err, owned.closed)
	}
	lent := &closingProvider{Provider: sandboxtest.New(script(nil))}
	exec = sandbox.NewCodeExecution(lent)
	if err := exec.Close(context.Background()); err != nil || lent.closed {
		t.Fatalf("close: %v; a provider the caller lent was closed", err)
	}
}

// hintedProvider says how many sandboxes a pool over it should keep.
type hintedProvider struct{ *sandboxtest.Provider }

func (hintedProvider) DefaultMaxSandboxes() int { return 10 }

// A remote backend's pool is not bounded by the local CPU count: the
// provider's hint is the default bound.
func TestPoolDefaultBoundFollowsTheProvider(t *testing.T) {
	gate := make(chan struct{})
	prov := hintedProvider{sandboxtest.New(script(gate))}
	pool := sandbox.NewPool(prov)
	defer closePool(t, pool)
	errs := make(chan error, 10)
	for range 10 {
		go func() { _, _, err := pool.Run(context.Background(), "wait", sandbox.RunOptions{}); errs <- err }()
	}
	eventually(t, "ten sandboxes in use at once", func() bool { return pool.Stats().InUse == 10 })
	close(gate)
	for range 10 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
