package e2b_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
)

// Compile-time checks of which constructor takes which option: a client
// option is both; the primitive's own options are PrimitiveOptions only
// (that they are not ClientOptions is checked below, at run time, since
// a failed compile cannot be a test); observability.Option is both.
var (
	_ e2b.Option          = e2b.WithTimeout(time.Second)
	_ e2b.ClientOption    = e2b.WithTemplate("t")
	_ e2b.PrimitiveOption = e2b.WithTemplate("t")
	_ e2b.PrimitiveOption = e2b.WithPipInstall(true)
	_ e2b.PrimitiveOption = e2b.WithMaxOutputSize(10)
	_ e2b.PrimitiveOption = e2b.WithCodeOptions(sandbox.MaxSandboxes(1))
	_ e2b.ClientOption    = observability.WithLogger(slog.Default())
	_ e2b.PrimitiveOption = observability.WithLogger(slog.Default())
)

func TestPrimitiveOnlyOptionsAreNotClientOptions(t *testing.T) {
	for name, o := range map[string]any{
		"WithPipInstall":    e2b.WithPipInstall(true),
		"WithMaxOutputSize": e2b.WithMaxOutputSize(10),
		"WithCodeOptions":   e2b.WithCodeOptions(),
	} {
		if _, ok := o.(e2b.ClientOption); ok {
			t.Errorf("%s is a ClientOption: NewClient would accept and ignore it", name)
		}
	}
}

// foreignOption implements the marker with the module's token but is no
// option of this package (as an option of another package would be if
// it carried the same marker by mistake).
type foreignOption struct{}

func (foreignOption) ForE2BClient(seal.Token)    {}
func (foreignOption) ForE2BPrimitive(seal.Token) {}

func TestForeignAndNilOptionsPanic(t *testing.T) {
	mustPanic(t, "e2b: NewClient: option 0 (e2b_test.foreignOption) is not an option of this package", func() {
		_, _ = e2b.NewClient(foreignOption{})
	})
	mustPanic(t, "e2b: NewProvider: option 1 is nil", func() {
		_, _ = e2b.NewProvider(e2b.WithDebug(true), nil)
	})
	mustPanic(t, "e2b: NewCodeExecutionPrimitive: option 0 (e2b_test.foreignOption)", func() {
		_, _ = e2b.NewCodeExecutionPrimitive(foreignOption{})
	})
}

// TestTelemetryOptionReachesClientAndPool: one observability.Option given
// to the primitive traces the client's calls and the pool's work.
func TestTelemetryOptionReachesClientAndPool(t *testing.T) {
	srv := newFake(t)
	rec, tp := newRecorder()
	exec, err := e2b.NewCodeExecutionPrimitive(append(srv.PrimitiveOptions(), observability.WithTracerProvider(tp))...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.Execute(ctxTimeout(t, 30*time.Second), sandbox.CodeInput{Code: "1"}); err != nil {
		t.Fatal(err)
	}
	_ = exec.Close(context.Background())
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
	}
	all := strings.Join(names, " ")
	for _, want := range []string{observability.SpanE2BCreate, observability.SpanE2BExecute, observability.SpanCodeExecution} {
		if !strings.Contains(all, want) {
			t.Fatalf("no span %s among %v", want, names)
		}
	}
}
