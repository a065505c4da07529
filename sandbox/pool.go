package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/ttadev/primitives/observability"
)

// Pool keeps warm sandboxes of one [Provider] and lends them out, so that
// most executions skip the cost of creating a sandbox.
//
// A Pool:
//   - reuses idle sandboxes, most recently used first (the warmest);
//   - creates sandboxes lazily, only when none is idle or about to be
//     (being reset) and fewer than [MaxSandboxes] exist, so concurrent
//     first calls never create more sandboxes than the bound (with a bound
//     of 1, exactly one);
//   - makes callers beyond the bound wait, first come first served, for as
//     long as their context allows;
//   - replaces a sandbox after [MaxAge] or [MaxUses];
//   - closes, in the background, a sandbox whose execution failed (timed
//     out, crashed, was cancelled), so the next caller gets a fresh one;
//   - in [Stateless] mode (the default) resets each sandbox after use, in
//     [SessionMode] keeps its state;
//   - closes everything on [Pool.Close].
//
// Creating a sandbox is the provider's cost (milliseconds locally, seconds
// on E2B); lending a warm one costs a mutex and no allocation beyond the
// [Lease]. A Pool is safe for concurrent use.
type Pool struct {
	provider Provider
	cfg      poolConfig
	maxAge   time.Duration
	provAttr attribute.KeyValue

	mu       sync.Mutex
	idle     []*member // LIFO: the last one is the warmest
	live     map[*member]struct{}
	total    int // creating + idle + busy: what counts against the bound
	creating int
	busy     int // leased, or being reset
	resets   int // being reset (counted in busy too)
	pending  int // background closes still running
	waiters  []*waiter
	closed   bool
	drained  chan struct{} // closed once closed and nothing is busy or pending
	drainedC bool
	closeErr []error
	stats    PoolStats
}

// member is one sandbox owned by the pool.
type member struct {
	sb      Sandbox
	id      string
	created time.Time
	uses    int
}

// waiter is a caller queued for a sandbox. It receives exactly one grant.
type waiter struct {
	ch chan grant
}

// grant hands a waiter an idle sandbox (m != nil), the right to create one
// (m == nil, err == nil; the slot is already counted), or an error.
type grant struct {
	m   *member
	err error
}

// PoolStats is a snapshot of a pool's counters.
type PoolStats struct {
	// Created counts sandboxes created successfully.
	Created int
	// CreateFailures counts calls to Provider.Create that failed.
	CreateFailures int
	// Closed counts sandboxes whose Close has returned (for any reason).
	Closed int
	// Discarded counts sandboxes retired because an execution on them
	// failed or their Reset failed.
	Discarded int
	// Rotated counts sandboxes retired because of MaxAge or MaxUses.
	Rotated int
	// Waits counts acquisitions that had to wait for a free sandbox.
	Waits int
	// InUse is the number of sandboxes lent out or being reset.
	InUse int
	// Idle is the number of warm sandboxes ready to be lent.
	Idle int
	// Creating is the number of sandboxes being created.
	Creating int
	// Waiting is the number of callers waiting for a sandbox.
	Waiting int
}

// SandboxInfo describes the sandbox that served an execution.
type SandboxInfo struct {
	// ID is the sandbox's id.
	ID string
	// Provider is the provider's name.
	Provider string
	// Created reports whether the sandbox was created for this call (a
	// cold start).
	Created bool
	// Uses counts the previous uses of the sandbox.
	Uses int
	// CreatedAt is when the sandbox became ready.
	CreatedAt time.Time
}

// NewPool returns a pool over p. It creates nothing until the first
// acquisition. A nil provider or a nil option panics.
func NewPool(p Provider, opts ...PoolOption) *Pool {
	if p == nil {
		panic("sandbox: NewPool: provider is nil")
	}
	cfg := defaultPoolConfig(p)
	applyPoolOptions("NewPool", &cfg, opts)
	return newPool(p, cfg)
}

func newPool(p Provider, cfg poolConfig) *Pool {
	cfg.create.Stateless = cfg.stateless // the provider may give each run a clean slate itself
	maxAge := cfg.maxAge
	if lt := cfg.create.Lifetime; lt > 0 {
		// Retire a sandbox a twelfth of its lifetime early (TTA.dev's
		// 3300 s for E2B's one hour), so a run handed to it does not meet
		// the backend's end of life half way.
		if early := lt - lt/12; maxAge == 0 || early < maxAge {
			maxAge = early
		}
	}
	return &Pool{
		provider: p,
		cfg:      cfg,
		maxAge:   maxAge,
		provAttr: attribute.String(observability.AttrSandboxProvider, p.Name()),
		live:     make(map[*member]struct{}),
		drained:  make(chan struct{}),
	}
}

// Provider returns the provider the pool creates sandboxes with.
func (p *Pool) Provider() Provider { return p.provider }

// Stateless reports whether the pool resets sandboxes after each use.
func (p *Pool) Stateless() bool { return p.cfg.stateless }

// Stats returns a snapshot of the pool's counters.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.InUse = p.busy
	s.Idle = len(p.idle)
	s.Creating = p.creating
	s.Waiting = len(p.waiters)
	return s
}

// Run lends a sandbox, runs code on it and gives it back: the usual way to
// use a pool. A failure of the user's code is in Execution.Error with a nil
// error. A non-nil error comes from acquiring (the context ended while
// waiting, the pool is closed, creation failed: the provider's error, so
// its retry classification is kept) or from the execution itself, in which
// case the sandbox is closed and replaced. The SandboxInfo describes the
// sandbox used, when one was.
func (p *Pool) Run(ctx context.Context, code string, opts RunOptions) (*Execution, SandboxInfo, error) {
	l, err := p.Acquire(ctx)
	if err != nil {
		return nil, SandboxInfo{}, err
	}
	exec, err := l.Run(ctx, code, opts)
	info := l.Info()
	l.Release()
	return exec, info, err
}

// Acquire lends a sandbox for exclusive use until [Lease.Release]: an idle
// one if there is one, else a new one if the bound allows, else the first
// one given back (waiting honours ctx). Use it to run several cells on the
// same sandbox, for example to build state in [SessionMode].
//
// Acquire returns [ErrClosed] after Close, ctx's error when ctx ends while
// waiting or creating (a sandbox whose creation completes anyway is kept
// for the next caller), and the provider's error (wrapped, its
// classification kept) when creation fails.
func (p *Pool) Acquire(ctx context.Context) (*Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if m := p.popIdleLocked(p.cfg.clock.Now()); m != nil {
		p.busy++
		p.mu.Unlock()
		return p.lease(m, false), nil
	}
	// Create only when no sandbox being reset is about to come back for
	// this caller: a reset costs far less than a creation.
	if p.total < p.cfg.maxSandboxes && p.resets <= len(p.waiters) {
		p.total++
		p.creating++
		p.mu.Unlock()
		return p.create(ctx)
	}
	w := &waiter{ch: make(chan grant, 1)}
	p.waiters = append(p.waiters, w)
	p.stats.Waits++
	p.mu.Unlock()
	return p.wait(ctx, w)
}

// wait blocks until w is granted something or ctx ends.
func (p *Pool) wait(ctx context.Context, w *waiter) (*Lease, error) {
	start := time.Now()
	ctx, span := p.cfg.telemetry.StartSpan(ctx, observability.SpanPoolAcquire, p.provAttr)
	var g grant
	select {
	case g = <-w.ch:
	case <-ctx.Done():
		err := context.Cause(ctx)
		p.mu.Lock()
		queued := p.removeWaiterLocked(w)
		p.mu.Unlock()
		if !queued {
			// Granted while ctx ended: hand the grant on.
			p.refuse(<-w.ch)
		}
		p.endWait(span, start, err)
		return nil, err
	}
	if g.err != nil {
		p.endWait(span, start, g.err)
		return nil, g.err
	}
	p.endWait(span, start, nil)
	if g.m != nil {
		return p.lease(g.m, false), nil
	}
	return p.create(ctx)
}

func (p *Pool) endWait(span trace.Span, start time.Time, err error) {
	if span == nil {
		return
	}
	span.SetAttributes(attribute.Float64(observability.AttrPoolWaitMS, msSince(start)))
	observability.End(span, err)
}

// refuse gives back a grant that its waiter no longer wants.
func (p *Pool) refuse(g grant) {
	if g.err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if g.m != nil {
		p.busy--
		p.putLocked(g.m)
		return
	}
	p.creating--
	p.total--
	p.freeSlotLocked()
	p.checkDrainedLocked()
}

// create makes a new sandbox for a slot already counted in total and
// creating.
func (p *Pool) create(ctx context.Context) (*Lease, error) {
	ctx, span := p.cfg.telemetry.StartSpan(ctx, observability.SpanCodeSandboxInit, p.provAttr)
	sb, err := p.provider.Create(ctx, p.cfg.create)
	if err == nil && sb == nil {
		err = fmt.Errorf("sandbox: provider %s returned no sandbox and no error", p.provider.Name())
	}
	if err != nil {
		err = &CreateError{Provider: p.provider.Name(), Err: err}
	}
	p.mu.Lock()
	p.creating--
	if err != nil {
		p.total--
		p.stats.CreateFailures++
		p.freeSlotLocked()
		p.checkDrainedLocked()
		p.mu.Unlock()
		observability.End(span, err)
		return nil, err
	}
	m := &member{sb: sb, id: sb.ID(), created: p.cfg.clock.Now()}
	p.stats.Created++
	if p.closed {
		p.total--
		p.closeLocked(m)
		p.checkDrainedLocked()
		p.mu.Unlock()
		observability.End(span, ErrClosed)
		return nil, ErrClosed
	}
	p.live[m] = struct{}{}
	// The caller may have left while the provider finished: keep the new
	// sandbox for the next caller rather than lend it to one whose context
	// has ended (its first run would fail and discard it).
	cerr := ctx.Err()
	if cerr != nil {
		p.putLocked(m)
	} else {
		p.busy++
	}
	p.mu.Unlock()
	if span != nil {
		span.SetAttributes(attribute.String(observability.AttrSandboxID, m.id))
		observability.End(span, nil)
	}
	observability.Log(ctx, p.cfg.telemetry.Log(), slog.LevelDebug, "sandbox created",
		slog.String(observability.AttrSandboxID, m.id),
		slog.String(observability.AttrSandboxProvider, p.provider.Name()))
	if cerr != nil {
		return nil, context.Cause(ctx)
	}
	return p.lease(m, true), nil
}

// popIdleLocked returns the warmest idle sandbox that is not too old,
// closing the too-old ones it meets.
func (p *Pool) popIdleLocked(now time.Time) *member {
	for len(p.idle) > 0 {
		n := len(p.idle) - 1
		m := p.idle[n]
		p.idle[n] = nil
		p.idle = p.idle[:n]
		if p.tooOld(m, now) {
			p.stats.Rotated++
			p.retireLocked(m)
			continue
		}
		return m
	}
	return nil
}

func (p *Pool) tooOld(m *member, now time.Time) bool {
	return p.maxAge > 0 && now.Sub(m.created) >= p.maxAge
}

// release takes back a lent sandbox. broken means its last execution
// failed and it must not be reused.
func (p *Pool) release(m *member, broken bool) {
	p.mu.Lock()
	m.uses++
	switch {
	case broken:
		p.stats.Discarded++
	case p.closed:
	case p.cfg.maxUses > 0 && m.uses >= p.cfg.maxUses, p.tooOld(m, p.cfg.clock.Now()):
		p.stats.Rotated++
	case p.cfg.stateless:
		// Stay busy while resetting; the reset goroutine puts it back.
		p.pending++
		p.resets++
		p.mu.Unlock()
		go p.reset(m)
		return
	default:
		p.busy--
		p.putLocked(m)
		p.mu.Unlock()
		return
	}
	p.busy--
	p.retireLocked(m)
	p.mu.Unlock()
}

// reset clears the interpreter state of m and returns it to the pool, or
// retires it when Reset fails.
func (p *Pool) reset(m *member) {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.closeTimeout)
	err := m.sb.Reset(ctx)
	cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending--
	p.resets--
	p.busy--
	if err != nil || p.closed {
		if err != nil {
			p.stats.Discarded++
			observability.Log(context.Background(), p.cfg.telemetry.Log(), slog.LevelWarn, "sandbox reset failed; closing it",
				slog.String(observability.AttrSandboxID, m.id), slog.String("error", err.Error()))
		}
		p.retireLocked(m)
		return
	}
	p.putLocked(m)
	p.checkDrainedLocked()
}

// putLocked makes m available: to the first waiter, else to the idle
// stack; it retires m instead when the pool is closed or m has reached
// MaxAge (which a reset may outlast). m is not counted as busy on entry.
func (p *Pool) putLocked(m *member) {
	if p.closed {
		p.retireLocked(m)
		return
	}
	if p.tooOld(m, p.cfg.clock.Now()) {
		p.stats.Rotated++
		p.retireLocked(m)
		return
	}
	if w := p.popWaiterLocked(); w != nil {
		p.busy++
		w.ch <- grant{m: m}
		return
	}
	p.idle = append(p.idle, m)
}

// retireLocked removes m (neither idle nor busy) from the pool, closes it
// in the background and lets a waiter create a replacement.
func (p *Pool) retireLocked(m *member) {
	delete(p.live, m)
	p.total--
	p.closeLocked(m)
	p.freeSlotLocked()
	p.checkDrainedLocked()
}

// closeLocked closes m's sandbox on a new goroutine, counted in pending.
func (p *Pool) closeLocked(m *member) {
	p.pending++
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.closeTimeout)
		err := m.sb.Close(ctx)
		cancel()
		if err != nil {
			err = fmt.Errorf("sandbox: closing %s: %w", m.id, err)
			observability.Log(ctx, p.cfg.telemetry.Log(), slog.LevelWarn, "closing sandbox failed",
				slog.String(observability.AttrSandboxID, m.id), slog.String("error", err.Error()))
		}
		p.mu.Lock()
		p.pending--
		p.stats.Closed++
		if err != nil && p.closed {
			p.closeErr = append(p.closeErr, err)
		}
		p.checkDrainedLocked()
		p.mu.Unlock()
	}()
}

// freeSlotLocked lets the first waiter create a sandbox when the bound
// allows one more.
func (p *Pool) freeSlotLocked() {
	if p.closed || p.total >= p.cfg.maxSandboxes {
		return
	}
	if w := p.popWaiterLocked(); w != nil {
		p.total++
		p.creating++
		w.ch <- grant{}
	}
}

func (p *Pool) popWaiterLocked() *waiter {
	if len(p.waiters) == 0 {
		return nil
	}
	w := p.waiters[0]
	p.waiters[0] = nil
	p.waiters = p.waiters[1:]
	if len(p.waiters) == 0 {
		p.waiters = nil
	}
	return w
}

func (p *Pool) removeWaiterLocked(w *waiter) bool {
	for i, x := range p.waiters {
		if x == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			return true
		}
	}
	return false
}

func (p *Pool) checkDrainedLocked() {
	if p.closed && !p.drainedC && p.busy == 0 && p.creating == 0 && p.pending == 0 {
		p.drainedC = true
		close(p.drained)
	}
}

// Close stops lending, closes the idle sandboxes, and waits until every
// lent sandbox has been given back and closed. When ctx ends first, Close
// closes the sandboxes still in use (their executions then fail) and
// returns ctx's error without waiting further. Callers waiting in Acquire
// get [ErrClosed]; so does every later Acquire or Run. Close may be called
// more than once; each call waits. It returns the errors of closing
// sandboxes, joined.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		for _, w := range p.waiters {
			w.ch <- grant{err: ErrClosed}
		}
		p.waiters = nil
		idle := p.idle
		p.idle = nil
		for _, m := range idle {
			p.retireLocked(m)
		}
		p.checkDrainedLocked()
	}
	p.mu.Unlock()
	select {
	case <-p.drained:
		p.mu.Lock()
		defer p.mu.Unlock()
		return errors.Join(p.closeErr...)
	case <-ctx.Done():
	}
	p.mu.Lock()
	for m := range p.live {
		p.pending++
		go func(m *member) {
			cctx, cancel := context.WithTimeout(context.Background(), p.cfg.closeTimeout)
			_ = m.sb.Close(cctx) // its lease's release closes it again and counts it
			cancel()
			p.mu.Lock()
			p.pending--
			p.checkDrainedLocked()
			p.mu.Unlock()
		}(m)
	}
	p.mu.Unlock()
	return context.Cause(ctx)
}

// CreateError reports that the provider could not create a sandbox. It
// unwraps to the provider's error, whose retry classification (see the
// recovery package) therefore applies.
type CreateError struct {
	Provider string
	Err      error
}

// Error describes the failed creation.
func (e *CreateError) Error() string {
	return fmt.Sprintf("sandbox: creating a sandbox on %s: %v", e.Provider, e.Err)
}

// Unwrap returns the provider's error.
func (e *CreateError) Unwrap() error { return e.Err }

func msSince(t time.Time) float64 {
	return float64(time.Since(t).Microseconds()) / 1000
}
