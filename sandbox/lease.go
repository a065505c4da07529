package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrReleased is returned by a [Lease] used after Release or Discard. It
// matches [ErrClosed].
var ErrReleased = fmt.Errorf("sandbox: lease already released: %w", ErrClosed)

// Lease is a sandbox lent by a [Pool] for exclusive use. Run cells on it
// with [Lease.Run], then give it back exactly once with [Lease.Release]
// (or [Lease.Discard] to have it closed). A Lease whose Run returned an
// error is closed and replaced on release, since its state is unknown.
//
// Run calls on one Lease are serialised by the sandbox; Release and
// Discard are safe to call from any goroutine and only the first call
// counts.
type Lease struct {
	pool    *Pool
	m       *member
	created bool
	uses    int
	done    atomic.Bool
	broken  atomic.Bool
}

func (p *Pool) lease(m *member, created bool) *Lease {
	return &Lease{pool: p, m: m, created: created, uses: m.uses}
}

// ID returns the sandbox's id.
func (l *Lease) ID() string { return l.m.id }

// Info describes the leased sandbox.
func (l *Lease) Info() SandboxInfo {
	return SandboxInfo{
		ID:        l.m.id,
		Provider:  l.pool.provider.Name(),
		Created:   l.created,
		Uses:      l.uses,
		CreatedAt: l.m.created,
	}
}

// Run executes code on the leased sandbox (see [Sandbox.Run]). When it
// returns an error other than an *UnsupportedLanguageError, the lease is
// marked broken and its sandbox will be closed on release. A ctx that has
// already ended gives its error without touching the sandbox, which stays
// usable. When a streaming callback of opts (or the backend) panics, the
// lease is discarded — its sandbox closed and its slot given back to the
// pool — before the panic goes on, so no panic can take the pool's bound
// with it.
func (l *Lease) Run(ctx context.Context, code string, opts RunOptions) (*Execution, error) {
	if l.done.Load() {
		return nil, ErrReleased
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	returned := false
	defer func() {
		if !returned {
			l.Discard()
		}
	}()
	exec, err := l.m.sb.Run(ctx, code, opts)
	returned = true
	if err != nil {
		var lang *UnsupportedLanguageError
		if !errors.As(err, &lang) {
			l.broken.Store(true)
		}
		return exec, err
	}
	if exec == nil {
		l.broken.Store(true)
		return nil, &CrashError{SandboxID: l.m.id, Reason: "the backend returned no execution and no error"}
	}
	return exec, nil
}

// Release gives the sandbox back to the pool: it is reset (stateless
// mode) or kept as is (session mode) for the next caller, or closed when
// it is broken, too old or used up. Calls after the first do nothing.
func (l *Lease) Release() {
	if l.done.CompareAndSwap(false, true) {
		l.pool.release(l.m, l.broken.Load())
	}
}

// Discard gives the sandbox back to be closed rather than reused, e.g.
// after the caller noticed that its state is unusable. Calls after the
// first Release or Discard do nothing.
func (l *Lease) Discard() {
	l.broken.Store(true)
	l.Release()
}
