package refine_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/refine"
)

// recordingHandler keeps every record it is given, at every level.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}

func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordingHandler) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var m []string
	for _, r := range h.records {
		m = append(m, r.Level.String()+" "+r.Message)
	}
	return m
}

// TestQuietWithoutLogger checks that a loop given no logger writes no
// record, not even to slog.Default, whether it fails (a Warn record with a
// logger) or succeeds (a Debug one), and that a loop given a logger still
// writes its record there.
func TestQuietWithoutLogger(t *testing.T) {
	def := &recordingHandler{}
	old := slog.Default()
	slog.SetDefault(slog.New(def))
	t.Cleanup(func() { slog.SetDefault(old) })

	exec := python(t)
	_, err := refine.New(codes(""), exec, refine.MaxAttempts(1)).Execute(ctxT(t), "x")
	if !errors.Is(err, refine.ErrNoWorkingCode) {
		t.Fatalf("err = %v, want the loop to fail", err)
	}
	if _, err := refine.New(codes("print('ok')"), exec).Execute(ctxT(t), "x"); err != nil {
		t.Fatal(err)
	}
	if m := def.messages(); len(m) != 0 {
		t.Fatalf("slog.Default got %d records from a loop without a logger: %q", len(m), m)
	}

	given := &recordingHandler{}
	_, _ = refine.New(codes(""), exec, refine.MaxAttempts(1), observability.WithLogger(slog.New(given))).Execute(ctxT(t), "x")
	if m := given.messages(); len(m) != 1 || m[0] != "WARN refinement" {
		t.Fatalf("the given logger got %q, want one WARN refinement record", m)
	}
	if m := def.messages(); len(m) != 0 {
		t.Fatalf("slog.Default got %q", m)
	}
}
