package recovery_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/recovery/recoverytest"
)

var errBench = errors.New("dependency down")

func newRecorder(t *testing.T) (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return rec, tp
}

func spanByName(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var names []string
	for _, s := range rec.Ended() {
		if s.Name() == name {
			return s
		}
		names = append(names, s.Name())
	}
	t.Fatalf("no span %q among %v", name, names)
	return nil
}

func attr(s sdktrace.ReadOnlySpan, key string) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want one containing %q", want)
		}
		msg, _ := r.(string)
		if !strings.Contains(msg, want) {
			t.Fatalf("panic %q does not contain %q", msg, want)
		}
	}()
	f()
}

// flaky fails with the given errors, in order, then succeeds with n*10.
// It counts its calls and is safe for concurrent use.
type flaky struct {
	mu    sync.Mutex
	errs  []error
	calls int
}

func (f *flaky) Execute(_ context.Context, n int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= len(f.errs) {
		return 0, f.errs[f.calls-1]
	}
	return n * 10, nil
}

func (f *flaky) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func failing(err error) primitives.Primitive[int, int] {
	return primitives.Func[int, int](func(context.Context, int) (int, error) { return 0, err })
}

func constant(v int) primitives.Primitive[int, int] {
	return primitives.Func[int, int](func(context.Context, int) (int, error) { return v, nil })
}

// waitForCancel blocks until its context is done and returns the
// context's error, as well-behaved work does.
var waitForCancel = primitives.Func[int, int](func(ctx context.Context, _ int) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
})

// newManualClock returns a clock that moves only when told to.
func newManualClock() *recoverytest.Clock { return recoverytest.NewClock() }

// hintedError is an error carrying a Retry-After hint, like an HTTP 429.
type hintedError struct{ after time.Duration }

func (e *hintedError) Error() string             { return "429 too many requests" }
func (e *hintedError) RetryAfter() time.Duration { return e.after }

// notRetryable says it is not worth retrying through the Retryable
// interface.
type notRetryable struct{}

func (notRetryable) Error() string   { return "401 bad key" }
func (notRetryable) Retryable() bool { return false }
