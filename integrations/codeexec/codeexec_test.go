package codeexec_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ttadev/primitives/integrations/codeexec"
	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/integrations/e2b/e2btest"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

type buf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *buf) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *buf) String() string              { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

func run(t *testing.T, exec *sandbox.CodeExecution) sandbox.CodeOutput {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.Execute(ctx, sandbox.CodeInput{Code: "print(6*7)"})
	if err != nil || out.Logs != "42\n" {
		t.Fatalf("%v %+v", err, out)
	}
	return out
}

func TestLocalWhenNoKey(t *testing.T) {
	t.Setenv(e2b.EnvAPIKey, "")
	logs := &buf{}
	exec, err := codeexec.FromEnv(observability.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Close(context.Background())
	run(t, exec)
	if exec.Pool().Provider().Name() != codeexec.BackendLocal || !strings.Contains(logs.String(), "backend=local") {
		t.Fatalf("provider %s, logs %q", exec.Pool().Provider().Name(), logs)
	}
}

func TestE2BWhenKeySet(t *testing.T) {
	p, err := local.New(observability.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := e2btest.NewServer(e2btest.WithProvider(p))
	defer srv.Close()
	t.Setenv(e2b.EnvAPIKey, srv.APIKey())
	t.Setenv(e2b.EnvAPIURL, srv.URL())
	t.Setenv(e2b.EnvSandboxURL, srv.URL())
	logs := &buf{}
	exec, err := codeexec.FromEnv(observability.WithLogger(slog.New(slog.NewTextHandler(logs, nil))),
		codeexec.WithCodeOptions(sandbox.WithTimeout(10*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	run(t, exec)
	if err := exec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if exec.Pool().Provider().Name() != codeexec.BackendE2B || !strings.Contains(logs.String(), "backend=e2b") {
		t.Fatalf("provider %s, logs %q", exec.Pool().Provider().Name(), logs)
	}
	if strings.Contains(logs.String(), srv.APIKey()) {
		t.Fatal("the key was logged")
	}
	if st := srv.Stats(); st.Creates != 1 || st.Kills != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMalformedKeyInTheEnvironment(t *testing.T) {
	t.Setenv(e2b.EnvAPIKey, "not-a-key")
	if _, err := codeexec.FromEnv(observability.WithLogger(slog.New(slog.DiscardHandler))); err == nil || strings.Contains(err.Error(), "not-a-key") {
		t.Fatalf("err = %v", err)
	}
}

// TestTelemetryReachesTheE2BClient: FromEnv's observability options trace
// the E2B client's own calls, not only the primitive's.
func TestTelemetryReachesTheE2BClient(t *testing.T) {
	p, err := local.New(observability.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := e2btest.NewServer(e2btest.WithProvider(p))
	defer srv.Close()
	t.Setenv(e2b.EnvAPIKey, srv.APIKey())
	t.Setenv(e2b.EnvAPIURL, srv.URL())
	t.Setenv(e2b.EnvSandboxURL, srv.URL())
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	exec, err := codeexec.FromEnv(observability.WithTracerProvider(tp), observability.WithLogger(slog.New(slog.DiscardHandler)),
		codeexec.WithE2BOptions(e2b.WithPipInstall(false), e2b.WithTemplate(e2b.DefaultTemplate)))
	if err != nil {
		t.Fatal(err)
	}
	run(t, exec)
	if err := exec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range rec.Ended() {
		seen[s.Name()] = true
	}
	for _, want := range []string{observability.SpanE2BCreate, observability.SpanE2BExecute, observability.SpanE2BKill, observability.SpanCodeExecution} {
		if !seen[want] {
			t.Fatalf("no span %s: %v", want, seen)
		}
	}
}
