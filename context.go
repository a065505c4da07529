package primitives

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"sync"
	"time"

	"go.opentelemetry.io/otel/baggage"

	"github.com/ttadev/primitives/observability"
)

// WorkflowContext describes one run of a workflow: who started it, how it
// relates to other runs, and what the steps share. It travels inside a
// context.Context ([WithWorkflow], [WorkflowFrom]), so every primitive of a
// pipeline sees the same one, and every span and log record of the module
// carries its correlation id.
//
// The identifiers, metadata and baggage are fixed once the context is
// built; the state store and checkpoints may be changed by any step and
// are safe for concurrent use.
type WorkflowContext struct {
	correlationID string
	workflowID    string
	sessionID     string
	causationID   string
	metadata      map[string]string
	baggage       map[string]string
	start         time.Time

	mu          sync.RWMutex
	state       map[string]any
	checkpoints []Checkpoint
}

// Checkpoint is a named moment of a workflow, with the time elapsed since
// the workflow context was created.
type Checkpoint struct {
	Name    string
	At      time.Time
	Elapsed time.Duration
}

// WorkflowOption configures a new WorkflowContext.
type WorkflowOption func(*WorkflowContext)

// CorrelationID sets the correlation id; without it a fresh random id is
// generated.
func CorrelationID(id string) WorkflowOption {
	return func(w *WorkflowContext) { w.correlationID = id }
}

// WorkflowID names the workflow.
func WorkflowID(id string) WorkflowOption { return func(w *WorkflowContext) { w.workflowID = id } }

// SessionID ties the run to a user or conversation session.
func SessionID(id string) WorkflowOption { return func(w *WorkflowContext) { w.sessionID = id } }

// CausationID records the correlation id of the run that caused this one.
func CausationID(id string) WorkflowOption { return func(w *WorkflowContext) { w.causationID = id } }

// Metadata adds read-only key/value metadata.
func Metadata(kv map[string]string) WorkflowOption {
	return func(w *WorkflowContext) {
		if w.metadata == nil {
			w.metadata = make(map[string]string, len(kv))
		}
		maps.Copy(w.metadata, kv)
	}
}

// Baggage adds entries that propagate to downstream services as
// OpenTelemetry baggage once the context is installed with [WithWorkflow].
// Keys and values must be valid W3C baggage; invalid entries are kept in
// the WorkflowContext but not propagated.
func Baggage(kv map[string]string) WorkflowOption {
	return func(w *WorkflowContext) {
		if w.baggage == nil {
			w.baggage = make(map[string]string, len(kv))
		}
		maps.Copy(w.baggage, kv)
	}
}

// InitialState seeds the state store.
func InitialState(kv map[string]any) WorkflowOption {
	return func(w *WorkflowContext) { maps.Copy(w.state, kv) }
}

// NewWorkflowContext builds a WorkflowContext. Without [CorrelationID] it
// gets a fresh random id (a version 4 UUID).
func NewWorkflowContext(opts ...WorkflowOption) *WorkflowContext {
	w := &WorkflowContext{start: time.Now(), state: map[string]any{}}
	for _, o := range opts {
		o(w)
	}
	if w.correlationID == "" {
		w.correlationID = NewID()
	}
	return w
}

// NewID returns a random version 4 UUID in its canonical text form.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// CorrelationID returns the id shared by every step of the run (and by its
// child contexts).
func (w *WorkflowContext) CorrelationID() string { return w.correlationID }

// WorkflowID returns the workflow's name or id, possibly "".
func (w *WorkflowContext) WorkflowID() string { return w.workflowID }

// SessionID returns the session id, possibly "".
func (w *WorkflowContext) SessionID() string { return w.sessionID }

// CausationID returns the correlation id of the run that caused this one,
// possibly "". A child context has its parent's.
func (w *WorkflowContext) CausationID() string { return w.causationID }

// StartTime returns when the context was created.
func (w *WorkflowContext) StartTime() time.Time { return w.start }

// Elapsed returns the time since the context was created.
func (w *WorkflowContext) Elapsed() time.Duration { return time.Since(w.start) }

// Metadata returns the value of a metadata key.
func (w *WorkflowContext) Metadata(key string) (string, bool) {
	v, ok := w.metadata[key]
	return v, ok
}

// AllMetadata returns a copy of the metadata.
func (w *WorkflowContext) AllMetadata() map[string]string { return maps.Clone(w.metadata) }

// Baggage returns a copy of the baggage entries.
func (w *WorkflowContext) Baggage() map[string]string { return maps.Clone(w.baggage) }

// Get reads a value from the state store.
func (w *WorkflowContext) Get(key string) (any, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	v, ok := w.state[key]
	return v, ok
}

// Set writes a value to the state store.
func (w *WorkflowContext) Set(key string, value any) {
	w.mu.Lock()
	w.state[key] = value
	w.mu.Unlock()
}

// Update applies f to the current value of key (nil and false when absent)
// and stores its result, atomically with respect to other state calls. f
// runs under the state lock: it must not call methods of w.
func (w *WorkflowContext) Update(key string, f func(old any, ok bool) any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	old, ok := w.state[key]
	w.state[key] = f(old, ok)
}

// Delete removes a key from the state store.
func (w *WorkflowContext) Delete(key string) {
	w.mu.Lock()
	delete(w.state, key)
	w.mu.Unlock()
}

// State returns a snapshot copy of the state store.
func (w *WorkflowContext) State() map[string]any {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return maps.Clone(w.state)
}

// Checkpoint records a named moment with the time elapsed since the start.
func (w *WorkflowContext) Checkpoint(name string) Checkpoint {
	now := time.Now()
	c := Checkpoint{Name: name, At: now, Elapsed: now.Sub(w.start)}
	w.mu.Lock()
	w.checkpoints = append(w.checkpoints, c)
	w.mu.Unlock()
	return c
}

// Checkpoints returns the checkpoints recorded so far, oldest first.
func (w *WorkflowContext) Checkpoints() []Checkpoint {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return append([]Checkpoint(nil), w.checkpoints...)
}

// Child returns a context for a sub-task of the same run (a Parallel
// branch uses one): it keeps the correlation id, the causation id (the run
// that caused this one caused the sub-task too), the workflow and session
// ids, copies metadata and baggage, and takes a snapshot of the state.
// State written to the child does not flow back and is not seen by
// siblings. The snapshot copies the map, not the values: values stored in
// the state should be immutable (the module's own, such as the routing
// history, are replaced on every change, never modified in place).
func (w *WorkflowContext) Child() *WorkflowContext {
	w.mu.RLock()
	state := maps.Clone(w.state)
	w.mu.RUnlock()
	if state == nil {
		state = map[string]any{}
	}
	return &WorkflowContext{
		correlationID: w.correlationID,
		workflowID:    w.workflowID,
		sessionID:     w.sessionID,
		causationID:   w.causationID,
		metadata:      maps.Clone(w.metadata),
		baggage:       maps.Clone(w.baggage),
		start:         time.Now(),
		state:         state,
	}
}

// WithWorkflow returns a copy of ctx that carries w. The baggage of w is
// merged into the OpenTelemetry baggage of ctx, so propagators send it to
// downstream services. A nil w returns ctx unchanged.
func WithWorkflow(ctx context.Context, w *WorkflowContext) context.Context {
	if w == nil {
		return ctx
	}
	ctx = observability.ContextWithCorrelated(ctx, w)
	if len(w.baggage) == 0 {
		return ctx
	}
	bag := baggage.FromContext(ctx)
	for k, v := range w.baggage {
		m, err := baggage.NewMemberRaw(k, v)
		if err != nil {
			continue
		}
		if nb, err := bag.SetMember(m); err == nil {
			bag = nb
		}
	}
	return baggage.ContextWithBaggage(ctx, bag)
}

// WorkflowFrom returns the WorkflowContext carried by ctx, or nil.
func WorkflowFrom(ctx context.Context) *WorkflowContext {
	w, _ := observability.CorrelatedFrom(ctx).(*WorkflowContext)
	return w
}

// EnsureWorkflow returns ctx and its WorkflowContext, installing a fresh
// one when ctx carries none.
func EnsureWorkflow(ctx context.Context) (context.Context, *WorkflowContext) {
	if w := WorkflowFrom(ctx); w != nil {
		return ctx, w
	}
	w := NewWorkflowContext()
	return WithWorkflow(ctx, w), w
}
