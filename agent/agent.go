package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/metric"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/recovery"
)

// Agent is a model that calls tools in a loop until it answers: a
// primitives.Primitive[Input, Result] built by [New].
//
// Each turn sends the conversation to the model with the tools' schemas;
// a reply with tool calls has them run (concurrently, up to
// ToolConcurrency) and their results sent back in the next turn; a reply
// without tool calls is the answer. See the package documentation for the
// limits, the errors and the telemetry.
//
// An Agent holds no state between runs; it is safe for concurrent use
// when its model and tools are. Its own cost per turn, beyond the model
// and the tools, is a few microseconds (BenchmarkLoopPerTurn).
type Agent struct {
	model primitives.Primitive[llm.Request, llm.Response]
	cfg   config
	defs  []llm.Tool
	tools map[string]*entry
	// known lists the tools' names, for the model when it calls another.
	known string
}

var _ primitives.Primitive[Input, Result] = (*Agent)(nil)

// entry is one tool of an agent with what its calls need.
type entry struct {
	tool Tool
	def  llm.Tool
	// key groups the calls that must run one at a time (Serial); nil
	// for a tool whose calls are independent.
	key any
	// metric attribute sets of the call outcomes, built once.
	attrs map[string]metric.MeasurementOption
}

// ConfigError reports tools an agent cannot offer the model: two tools of
// one name, a name the model's services refuse, a schema that is not a
// JSON object. The tools may come from outside the program (an MCP
// server), so [New] returns it rather than panicking.
type ConfigError struct {
	Reason string
}

// Error gives the reason.
func (e *ConfigError) Error() string { return "agent: " + e.Reason }

// New returns an agent running model with the options' tools, prompt and
// limits. It fails with a *ConfigError when two tools share a name, a
// tool's name is not 1 to 64 letters, digits, '_' or '-', or its schema
// is not a JSON object. It panics, as every constructor of the module
// does for a programmer error, when model or an option is nil or an
// option is not an option of this package.
//
// Invariants (docs/architecture.md), as the package documentation details:
// all hold. The model runs on the caller's goroutine, so its panic reaches
// the caller; tools run on goroutines of the agent, so a tool's panic
// comes back as a *primitives.PanicError.
func New(model primitives.Primitive[llm.Request, llm.Response], opts ...Option) (*Agent, error) {
	if primitives.IsNil(model) {
		panic("agent: New: model is nil")
	}
	cfg := newConfig(opts)
	a := &Agent{model: model, cfg: cfg, tools: make(map[string]*entry, len(cfg.tools))}
	names := make([]string, 0, len(cfg.tools))
	for _, t := range cfg.tools {
		def := t.Definition()
		if err := checkDefinition(def); err != nil {
			return nil, err
		}
		if _, dup := a.tools[def.Name]; dup {
			return nil, &ConfigError{Reason: fmt.Sprintf("two tools are named %q", def.Name)}
		}
		e := &entry{tool: t, def: def, attrs: toolAttrSets(def.Name)}
		if s, ok := t.(Serial); ok {
			e.key = s.SerialKey()
			if e.key != nil && !reflect.TypeOf(e.key).Comparable() {
				return nil, &ConfigError{Reason: fmt.Sprintf("tool %s: its serial key, a %T, is not comparable", def.Name, e.key)}
			}
		}
		a.tools[def.Name] = e
		a.defs = append(a.defs, def)
		names = append(names, def.Name)
	}
	slices.Sort(names)
	a.known = strings.Join(names, ", ")
	return a, nil
}

// checkDefinition refuses a declaration the services would refuse.
func checkDefinition(def llm.Tool) error {
	if !validName(def.Name) {
		return &ConfigError{Reason: fmt.Sprintf("tool name %q is not 1 to 64 letters, digits, '_' or '-'", def.Name)}
	}
	if def.InputSchema != nil {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(def.InputSchema, &obj); err != nil || obj == nil {
			return &ConfigError{Reason: fmt.Sprintf("tool %s: the input schema is not a JSON object", def.Name)}
		}
	}
	return nil
}

// validName reports whether name is 1 to 64 ASCII letters, digits, '_'
// or '-', the names every service accepts.
func validName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Name returns the agent's name.
func (a *Agent) Name() string { return a.cfg.name }

// Tools returns the declarations of the agent's tools, in the order they
// were given.
func (a *Agent) Tools() []llm.Tool { return slices.Clone(a.defs) }

// Execute runs the agent on in until the model answers without calling
// tools. It returns:
//   - the context's cause, when the context is done before the first
//     model call;
//   - a *recovery.InvalidInputError for an input with no task, image nor
//     message, before anything runs;
//   - the Result: the answer, the transcript, the tool calls, the usage,
//     the turns, and why the run ended;
//   - a *LimitError (matching ErrLimit) with the run so far when a limit
//     ended it;
//   - a *RunError with the run so far wrapping the model's error, a
//     tool's infrastructure error (a *primitives.PanicError for a tool
//     that panicked), or the cause of the caller's context when it ended
//     mid-run.
func (a *Agent) Execute(ctx context.Context, in Input) (Result, error) {
	if err := cause(ctx); err != nil {
		return Result{}, err
	}
	if in.Task == "" && len(in.Images) == 0 && len(in.Messages) == 0 {
		return Result{}, &recovery.InvalidInputError{Field: "input", Reason: "has no task, image nor message"}
	}
	r := newRun(a, in)
	return r.execute(ctx)
}

// cause returns the reason ctx is done, preferring the cancellation cause.
func cause(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	if c := context.Cause(ctx); c != nil {
		return c
	}
	return ctx.Err()
}

// isNil reports whether t is nil or a typed nil pointer, func, map or
// slice.
func isNil(t Tool) bool {
	if t == nil {
		return true
	}
	v := reflect.ValueOf(t)
	switch v.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Interface, reflect.Chan:
		return v.IsNil()
	}
	return false
}
