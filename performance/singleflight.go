package performance

import (
	"context"
	"errors"
	"sync"
)

// flightGroup de-duplicates concurrent loads of the same key: the first
// caller that misses starts one run of the inner primitive, later callers
// that miss on the same key wait for that run.
//
// The run is not tied to any caller's context: it gets
// context.WithoutCancel of the first caller's context (values such as the
// trace span and the workflow context are kept, cancellation and deadline
// are not) and is cancelled only when every caller waiting for it has left.
// So a caller whose context ends leaves at once without failing the others,
// and work nobody waits for any more stops.
type flightGroup[Out any] struct {
	mu    sync.Mutex
	calls map[string]*flightCall[Out]
	// stale holds the runs invalidated while in flight: no new caller
	// joins them, but Close still cancels them.
	stale  map[*flightCall[Out]]struct{}
	closed bool // set by cancelAll: no new runs start
}

type flightCall[Out any] struct {
	done   chan struct{}
	out    Out
	err    error
	cancel context.CancelCauseFunc

	// Guarded by flightGroup.mu.
	waiters   int
	abandoned bool // every waiter left; the run was cancelled
	noStore   bool // invalidated while running: do not keep the result
}

// errAbandoned is the cancellation cause of a run every caller left.
var errAbandoned = errors.New("performance: every caller waiting for this cache load left")

// join returns the in-flight call for key, adding the caller as a waiter,
// or starts a new call (leader == true) whose context is derived from ctx
// as described on flightGroup. It returns a nil call once the group is
// closed.
func (g *flightGroup[Out]) join(ctx context.Context, key string) (c *flightCall[Out], runCtx context.Context, leader bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, nil, false
	}
	if c = g.calls[key]; c != nil && !c.abandoned {
		c.waiters++
		return c, nil, false
	}
	runCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	c = &flightCall[Out]{done: make(chan struct{}), cancel: cancel, waiters: 1}
	if g.calls == nil {
		g.calls = make(map[string]*flightCall[Out])
	}
	g.calls[key] = c
	return c, runCtx, true
}

// leave removes a waiter whose context ended; the last one to leave cancels
// the run.
func (g *flightGroup[Out]) leave(key string, c *flightCall[Out]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c.waiters--
	if c.waiters == 0 {
		select {
		case <-c.done:
			return
		default:
		}
		c.abandoned = true
		if g.calls[key] == c {
			delete(g.calls, key)
		}
		delete(g.stale, c)
		c.cancel(errAbandoned)
	}
}

// finish forgets the call and reports whether its result may be kept
// (it was not invalidated meanwhile). The caller closes c.done afterwards.
func (g *flightGroup[Out]) finish(key string, c *flightCall[Out]) (keep bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.calls[key] == c {
		delete(g.calls, key)
	}
	delete(g.stale, c)
	return !c.noStore
}

// keep reports whether c's result may still be stored (it was not
// invalidated).
func (g *flightGroup[Out]) keep(c *flightCall[Out]) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !c.noStore
}

// invalidate marks the in-flight call for key (if any) so that its result
// is not kept, and detaches it so that later callers start a fresh run
// instead of sharing one that began before the invalidation.
func (g *flightGroup[Out]) invalidate(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c := g.calls[key]; c != nil {
		g.detachLocked(key, c)
	}
}

// invalidateAll does what invalidate does for every in-flight call.
func (g *flightGroup[Out]) invalidateAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for key, c := range g.calls {
		g.detachLocked(key, c)
	}
}

func (g *flightGroup[Out]) detachLocked(key string, c *flightCall[Out]) {
	c.noStore = true
	delete(g.calls, key)
	if g.stale == nil {
		g.stale = make(map[*flightCall[Out]]struct{})
	}
	g.stale[c] = struct{}{}
}

// cancelAll cancels every in-flight run and refuses new ones (Close).
func (g *flightGroup[Out]) cancelAll(cause error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for _, c := range g.calls {
		c.cancel(cause)
	}
	for c := range g.stale {
		c.cancel(cause)
	}
}
