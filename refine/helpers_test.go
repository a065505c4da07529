package refine_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/refine"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

var quiet = observability.WithLogger(slog.New(slog.DiscardHandler))

// python returns a CodeExecution on the local sandbox: real Python.
func python(t testing.TB, opts ...sandbox.CodeOption) *sandbox.CodeExecution {
	t.Helper()
	p, err := local.New(quiet)
	if err != nil {
		t.Fatalf("local sandbox: %v", err)
	}
	exec := sandbox.NewCodeExecution(p, append([]sandbox.CodeOption{sandbox.WithTimeout(20 * time.Second), quiet}, opts...)...)
	t.Cleanup(func() {
		exec.Close(context.Background())
		p.Close()
	})
	return exec
}

// script is a generator that answers with fixed replies in order (the
// last one repeated) and records what it was asked. It is the input of the
// loop under test, standing where an LLM stands in production.
type script struct {
	mu      sync.Mutex
	replies []refine.Generation
	errs    map[int]error // attempt-call index (from 0) -> error to return
	reqs    []refine.Request
}

func codes(cs ...string) *script {
	s := &script{}
	for _, c := range cs {
		s.replies = append(s.replies, refine.Generation{Code: c})
	}
	return s
}

func (s *script) Execute(_ context.Context, req refine.Request) (refine.Generation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := len(s.reqs)
	req.History = slices.Clone(req.History)
	s.reqs = append(s.reqs, req)
	if err := s.errs[i]; err != nil {
		return refine.Generation{}, err
	}
	return s.replies[min(i, len(s.replies)-1)], nil
}

func (s *script) requests() []refine.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
