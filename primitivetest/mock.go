// Package primitivetest helps test pipelines built from primitives: a Mock
// stands in for any step, returns scripted outputs and errors, and records
// how it was called.
package primitivetest

import (
	"context"
	"fmt"
	"sync"
)

// Call is one recorded call of a Mock.
type Call[In any] struct {
	Input In
	// CorrelationID is the correlation id carried by the call's context,
	// or "".
	CorrelationID string
}

// Reply is one scripted answer: an output, an error, or both.
type Reply[Out any] struct {
	Out Out
	Err error
}

// Mock is a Primitive that returns scripted replies in order and records
// every call. When the script is used up it repeats the last reply; with no
// script it returns the zero output and a nil error, or what Func computes.
// A Mock is safe for concurrent use; concurrent calls take replies in the
// order they acquire the mock's lock.
type Mock[In, Out any] struct {
	mu      sync.Mutex
	replies []Reply[Out]
	next    int
	calls   []Call[In]
	fn      func(context.Context, In) (Out, error)
}

// NewMock returns a Mock that answers with replies in order.
func NewMock[In, Out any](replies ...Reply[Out]) *Mock[In, Out] {
	return &Mock[In, Out]{replies: replies}
}

// Returning returns a Mock that always answers out. Only the input type
// needs spelling out, the output type is inferred from out:
//
//	exec := primitivetest.Returning[sandbox.CodeInput](sandbox.CodeOutput{Success: true, Logs: "42\n"})
//
// (sandboxtest.Executor is that line for code execution.)
func Returning[In, Out any](out Out) *Mock[In, Out] {
	return NewMock[In](Reply[Out]{Out: out})
}

// Failing returns a Mock that always fails with err.
func Failing[In, Out any](err error) *Mock[In, Out] {
	return NewMock[In](Reply[Out]{Err: err})
}

// FromFunc returns a Mock that computes its answer with f once the scripted
// replies (if any were added with Then) are used up.
func FromFunc[In, Out any](f func(context.Context, In) (Out, error)) *Mock[In, Out] {
	return &Mock[In, Out]{fn: f}
}

// Then appends scripted replies and returns the mock, for chaining.
func (m *Mock[In, Out]) Then(replies ...Reply[Out]) *Mock[In, Out] {
	m.mu.Lock()
	m.replies = append(m.replies, replies...)
	m.mu.Unlock()
	return m
}

// Execute records the call and returns the next reply.
func (m *Mock[In, Out]) Execute(ctx context.Context, in In) (Out, error) {
	m.mu.Lock()
	m.calls = append(m.calls, Call[In]{Input: in, CorrelationID: correlationID(ctx)})
	var (
		r     Reply[Out]
		useFn bool
	)
	switch {
	case m.next < len(m.replies):
		r = m.replies[m.next]
		m.next++
	case m.fn != nil:
		useFn = true
	case len(m.replies) > 0:
		r = m.replies[len(m.replies)-1]
	}
	fn := m.fn
	m.mu.Unlock()
	if useFn {
		return fn(ctx, in)
	}
	return r.Out, r.Err
}

// CallCount returns how many times Execute was called.
func (m *Mock[In, Out]) CallCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.calls)
}

// Calls returns a copy of the recorded calls, in order.
func (m *Mock[In, Out]) Calls() []Call[In] {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Call[In](nil), m.calls...)
}

// Inputs returns the recorded inputs, in order.
func (m *Mock[In, Out]) Inputs() []In {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]In, len(m.calls))
	for i, c := range m.calls {
		out[i] = c.Input
	}
	return out
}

// Reset forgets the recorded calls and rewinds the script.
func (m *Mock[In, Out]) Reset() {
	m.mu.Lock()
	m.calls, m.next = nil, 0
	m.mu.Unlock()
}

// TB is the part of testing.TB the assertion helpers use.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
}

// AssertCalled fails t unless the mock was called exactly n times.
func (m *Mock[In, Out]) AssertCalled(t TB, n int) bool {
	t.Helper()
	if got := m.CallCount(); got != n {
		t.Errorf("primitivetest: mock called %d times, want %d", got, n)
		return false
	}
	return true
}

// AssertCalledWith fails t unless some call received an input equal to in
// (compared with equal).
func (m *Mock[In, Out]) AssertCalledWith(t TB, in In, equal func(a, b In) bool) bool {
	t.Helper()
	for _, c := range m.Calls() {
		if equal(c.Input, in) {
			return true
		}
	}
	t.Errorf("primitivetest: mock never called with %s", fmt.Sprint(in))
	return false
}
