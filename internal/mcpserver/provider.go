package mcpserver

import (
	"context"
	"sync/atomic"

	"github.com/ttadev/primitives/sandbox"
)

// trackedProvider counts the sandboxes it creates and closes, and lets a
// tool call receive its cell's stdout while the cell runs: the primitive
// passes the call's context down to Sandbox.Run, where the sink found in
// it is attached as RunOptions.OnStdout.
type trackedProvider struct {
	sandbox.Provider
	created atomic.Int64
	closed  atomic.Int64
}

func (p *trackedProvider) Create(ctx context.Context, opts sandbox.CreateOptions) (sandbox.Sandbox, error) {
	sb, err := p.Provider.Create(ctx, opts)
	if err != nil || sb == nil {
		return sb, err
	}
	p.created.Add(1)
	return &trackedSandbox{Sandbox: sb, p: p}, nil
}

type trackedSandbox struct {
	sandbox.Sandbox
	p      *trackedProvider
	closed atomic.Bool
}

func (s *trackedSandbox) Run(ctx context.Context, code string, opts sandbox.RunOptions) (*sandbox.Execution, error) {
	if sink, ok := ctx.Value(sinkKey{}).(func(string)); ok {
		prev := opts.OnStdout
		opts.OnStdout = func(m sandbox.OutputMessage) {
			sink(m.Text)
			if prev != nil {
				prev(m)
			}
		}
	}
	return s.Sandbox.Run(ctx, code, opts)
}

func (s *trackedSandbox) Close(ctx context.Context) error {
	err := s.Sandbox.Close(ctx)
	if s.closed.CompareAndSwap(false, true) {
		s.p.closed.Add(1)
	}
	return err
}

type sinkKey struct{}

// withStdoutSink returns ctx carrying sink, called with each chunk of
// stdout of the cell run under ctx. sink must not block.
func withStdoutSink(ctx context.Context, sink func(string)) context.Context {
	return context.WithValue(ctx, sinkKey{}, sink)
}
