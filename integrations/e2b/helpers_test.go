package e2b_test

import (
	"bytes"
	"context"
	"github.com/ttadev/primitives/observability"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/integrations/e2b/e2btest"
	"github.com/ttadev/primitives/sandbox/local"
)

var (
	sharedLocalOnce sync.Once
	sharedLocal     *local.Provider
	sharedLocalErr  error
)

// localProvider returns one local provider for the whole test binary (its
// isolation probe runs once).
func localProvider(t testing.TB) *local.Provider {
	t.Helper()
	sharedLocalOnce.Do(func() {
		sharedLocal, sharedLocalErr = local.New(observability.WithLogger(slog.New(slog.DiscardHandler)))
	})
	if sharedLocalErr != nil {
		t.Fatalf("local provider: %v", sharedLocalErr)
	}
	return sharedLocal
}

// newFake starts a fake E2B server backed by real Python and closes it at
// the end of the test, checking that no sandbox is left alive.
func newFake(t testing.TB, opts ...e2btest.Option) *e2btest.Server {
	t.Helper()
	opts = append([]e2btest.Option{e2btest.WithProvider(localProvider(t))}, opts...)
	srv := e2btest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

func newClient(t testing.TB, srv *e2btest.Server, opts ...e2b.ClientOption) *e2b.Client {
	t.Helper()
	c, err := e2b.NewClient(append(srv.ClientOptions(), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func createSandbox(t testing.TB, c *e2b.Client) *e2b.Sandbox {
	t.Helper()
	sb, err := c.CreateSandbox(context.Background(), e2b.CreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = sb.Kill(context.Background()) })
	return sb
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mustPanic(t *testing.T, prefix string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want one starting with %q", prefix)
		}
		if s, _ := r.(string); !strings.HasPrefix(s, prefix) {
			t.Fatalf("panic %v, want prefix %q", r, prefix)
		}
	}()
	f()
}
