package primitives

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/ttadev/primitives/observability"
)

// Parallel returns a primitive that runs every branch on the same input,
// concurrently, and returns their outputs in branch order. It panics at
// construction when there are no branches or a branch is nil.
//
// By default the first failing branch cancels the others: their context is
// cancelled with the *BranchError as its cause, and that error (naming the
// branch) is returned. With [CollectAll] every branch runs to the end and
// the outputs of the branches that succeeded are returned together with
// every error joined by errors.Join. [MaxConcurrency] bounds how many
// branches run at once.
//
// A panic in a branch is returned as a *PanicError inside the *BranchError
// (branches run on goroutines of their own, where a panic would crash the
// process); it is not retryable. When the context carries a
// WorkflowContext, each branch gets a child of it ([WorkflowContext.Child]:
// same correlation and causation ids), so state written by one branch is
// not seen by another.
// With a tracer provider installed each branch runs in a span named
// "parallel.branch_<i>".
//
// Invariants (docs/architecture.md): all hold. Branches run on goroutines
// of their own, so a branch's panic comes back as a *PanicError, which is
// not retryable; the branches a failure cancels see the failing
// *BranchError as their context's cause, which the module reads as a
// cancellation, never as a failure of what they call.
func Parallel[In, Out any](branches ...Primitive[In, Out]) *Fanout[In, Out] {
	if len(branches) == 0 {
		panic("primitives: Parallel: no branches")
	}
	for i, b := range branches {
		if IsNil(b) {
			panic(fmt.Sprintf("primitives: Parallel: branch %d is nil", i))
		}
	}
	return &Fanout[In, Out]{branches: append([]Primitive[In, Out](nil), branches...)}
}

// Fanout is the primitive built by [Parallel]. It is safe for concurrent
// use.
type Fanout[In, Out any] struct {
	branches []Primitive[In, Out]
	cfg      parallelConfig
}

// With returns a copy with opts ([MaxConcurrency], [CollectAll], telemetry
// options) added to the options it already has (a later option overrides
// an earlier one of the same kind).
func (p *Fanout[In, Out]) With(opts ...ParallelOption) *Fanout[In, Out] {
	cp := *p
	cp.cfg = p.cfg.with(opts)
	return &cp
}

// Execute runs the branches and returns their outputs in branch order.
func (p *Fanout[In, Out]) Execute(ctx context.Context, in In) ([]Out, error) {
	if err := cause(ctx); err != nil {
		return nil, err
	}
	n := len(p.branches)
	outs := make([]Out, n)
	errs := make([]error, n)

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	tracer, traced := p.cfg.telemetry.Tracer()
	parentWF := WorkflowFrom(ctx)

	var failed atomic.Bool
	run := func(i int) {
		bctx := runCtx
		if parentWF != nil {
			bctx = WithWorkflow(bctx, parentWF.Child())
		}
		if err := cause(bctx); err != nil {
			if !p.cfg.collectAll && failed.Load() {
				return // cancelled because another branch failed
			}
			errs[i] = &BranchError{Index: i, Err: err}
			return
		}
		out, err := p.runBranch(bctx, i, in, tracer, traced)
		if err != nil {
			berr := &BranchError{Index: i, Err: err}
			errs[i] = berr
			if !p.cfg.collectAll && failed.CompareAndSwap(false, true) {
				cancel(berr)
			}
			return
		}
		outs[i] = out
	}

	workers := n
	if m := p.cfg.maxConcurrency; m > 0 && m < n {
		workers = m
	}
	var wg sync.WaitGroup
	if workers == n {
		wg.Add(n)
		for i := range n {
			go func() { defer wg.Done(); run(i) }()
		}
	} else {
		var next atomic.Int64
		wg.Add(workers)
		for range workers {
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= n {
						return
					}
					run(i)
				}
			}()
		}
	}
	wg.Wait()

	if p.cfg.collectAll {
		if err := errors.Join(errs...); err != nil {
			return outs, err
		}
		return outs, nil
	}
	if failed.Load() {
		return nil, context.Cause(runCtx)
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return outs, nil
}

func (p *Fanout[In, Out]) runBranch(ctx context.Context, i int, in In, tracer trace.Tracer, traced bool) (out Out, err error) {
	var span trace.Span
	if traced {
		ctx, span = observability.StartSpan(ctx, tracer, observability.BranchSpan(i),
			attribute.Int(observability.AttrBranchIndex, i))
	}
	defer func() {
		if r := recover(); r != nil {
			err = newPanicError(r)
		}
		observability.End(span, err)
	}()
	return p.branches[i].Execute(ctx, in)
}

func (*Fanout[In, Out]) checksContext() {}
