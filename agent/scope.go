package agent

import (
	"context"
	"errors"
	"sync"
)

// scope holds what the tools of one run keep for the run's length (the
// built-in sandbox tools' Python session) and what must be released when
// the run ends. An Agent puts one in the context its tools receive.
type scope struct {
	mu      sync.Mutex
	values  map[any]any
	closers []func(context.Context) error
}

type scopeKey struct{}

func withScope(ctx context.Context, s *scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// scopeFrom returns the run's scope, or nil when a tool is called outside
// a run.
func scopeFrom(ctx context.Context) *scope {
	s, _ := ctx.Value(scopeKey{}).(*scope)
	return s
}

// load returns the run's value for key. The first time, create makes it
// and says how to release it when the run ends (nil: nothing to do).
func (s *scope) load(key any, create func() (any, func(context.Context) error)) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.values[key]; ok {
		return v
	}
	if s.values == nil {
		s.values = map[any]any{}
	}
	v, release := create()
	s.values[key] = v
	if release != nil {
		s.closers = append(s.closers, release)
	}
	return v
}

// end runs the registered functions, the last registered first, and
// returns their errors joined.
func (s *scope) end(ctx context.Context) error {
	s.mu.Lock()
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		errs = append(errs, closers[i](ctx))
	}
	return errors.Join(errs...)
}
