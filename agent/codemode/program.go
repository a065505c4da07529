package codemode

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// Program is the code-mode tool: an agent.Tool whose input is a Python
// program ({"code": string}) that calls the wrapped tools as functions of
// a tools namespace. Build it with [New]; Close it when done. It is safe
// for concurrent use: each program runs in a sandbox of its own.
type Program struct {
	cfg   config
	pool  *sandbox.Pool
	tools map[string]*entry // by the tool's own name
	def   llm.Tool
	pre   string
}

type entry struct {
	tool   agent.Tool
	schema *jsonschema.Resolved // nil when the schema cannot be resolved: the tool checks its arguments itself
}

// Report is what one program did.
type Report struct {
	// Execution is the program's output: stdout, stderr, results (the
	// last expression's value, images) and its Python error, if any.
	Execution *sandbox.Execution
	// Calls is the number of tool calls the program made, refused ones
	// included.
	Calls int
}

// New returns the code-mode tool over tools, running programs in stateless
// sandboxes of provider (the local sandbox; see the package doc). Tool
// names must be unique; each is offered to the program as a Python
// function (a name that is not a Python identifier has its other
// characters replaced by '_'), and two tools may not end up with the same
// function name.
func New(provider sandbox.Provider, tools []agent.Tool, opts ...Option) (*Program, error) {
	if provider == nil {
		return nil, &recovery.InvalidInputError{Field: "provider", Reason: "nil"}
	}
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	p := &Program{cfg: cfg, tools: map[string]*entry{}}
	defs := make([]llm.Tool, 0, len(tools))
	names := make([]string, 0, len(tools))
	py := map[string]string{}
	for i, t := range tools {
		if t == nil {
			return nil, &recovery.InvalidInputError{Field: fmt.Sprintf("tools[%d]", i), Reason: "nil"}
		}
		d := t.Definition()
		if _, dup := p.tools[d.Name]; dup {
			return nil, &recovery.InvalidInputError{Field: fmt.Sprintf("tools[%d]", i), Reason: fmt.Sprintf("a second tool named %q", d.Name)}
		}
		n := pyName(d.Name)
		if other, dup := py[n]; dup {
			return nil, &recovery.InvalidInputError{Field: fmt.Sprintf("tools[%d]", i), Reason: fmt.Sprintf("tools %q and %q would both be the Python function %q", other, d.Name, n)}
		}
		py[n] = d.Name
		p.tools[d.Name] = &entry{tool: t, schema: resolve(d.InputSchema)}
		defs = append(defs, d)
		names = append(names, n)
	}
	p.pre = prelude(defs, names)
	p.def = definition(cfg.name, defs, names, cfg)
	p.pool = sandbox.NewPool(provider, sandbox.Stateless(), sandbox.MaxSandboxes(cfg.sandboxes))
	return p, nil
}

func resolve(raw json.RawMessage) *jsonschema.Resolved {
	if len(raw) == 0 {
		return nil
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil
	}
	r, err := s.Resolve(nil)
	if err != nil {
		return nil
	}
	return r
}

func definition(name string, defs []llm.Tool, names []string, cfg config) llm.Tool {
	var b strings.Builder
	b.WriteString("Run a Python program that calls the tools below as functions and returns what it printed and the value of its last expression. ")
	b.WriteString("Use it to chain several tool calls in one step: call a tool, compute with its result, call the next. ")
	b.WriteString("Call tools with keyword arguments only; each returns the tool's result (parsed JSON when the tool answers JSON, else text). ")
	b.WriteString("A failed call raises tools.ToolError, which the program may catch. The program has no network and no files from earlier programs; ")
	fmt.Fprintf(&b, "it may make at most %d tool calls and run for %s.\n\nTools:\n", cfg.maxCalls, cfg.timeout)
	for i, d := range defs {
		b.WriteString("\n")
		b.WriteString(signature(d, names[i]))
		b.WriteString("\n")
	}
	return llm.Tool{
		Name:        name,
		Description: b.String(),
		InputSchema: json.RawMessage(`{"type":"object","properties":{"code":{"type":"string","description":"The Python program. Its last expression is its result."}},"required":["code"],"additionalProperties":false}`),
	}
}

// Definition declares the tool: its name ("run_program" unless
// WithName), a description listing each wrapped tool as the Python
// function the program calls, and the input schema {"code": string}.
func (p *Program) Definition() llm.Tool { return p.def }

// Call runs the program in args ({"code": string}) and returns its report
// as text for the model (stdout, the last value, the error with its
// traceback, the number of tool calls) and the images it produced. A
// Python error in the program is a result the model reads, not a Go
// error. The error is an *agent.ToolError for arguments without code, and
// an infrastructure failure (of a wrapped tool, or of the sandbox) stops
// the program and is returned as it is.
func (p *Program) Call(ctx context.Context, args json.RawMessage) ([]llm.Block, error) {
	var in struct {
		Code *string `json:"code"`
	}
	if err := json.Unmarshal(args, &in); err != nil || in.Code == nil {
		return nil, &agent.ToolError{Message: `the input must be {"code": "<python program>"}`, Err: err}
	}
	rep, err := p.Run(ctx, *in.Code)
	if err != nil {
		return nil, err
	}
	return rep.Blocks(), nil
}

// Run runs one program and reports what it did. A Python error in the
// program is in Report.Execution.Error with a nil error; the error is
// non-nil when a wrapped tool failed in its infrastructure (that error)
// or the sandbox did.
func (p *Program) Run(ctx context.Context, code string) (*Report, error) {
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	h := &handler{p: p, cancel: cancel}
	exec, _, err := p.pool.Run(runCtx, p.pre+code, sandbox.RunOptions{Timeout: p.cfg.timeout, OnHostCall: h.call})
	h.wg.Wait()
	if cause := h.infraErr(); cause != nil {
		return &Report{Execution: exec, Calls: int(h.calls.Load())}, cause
	}
	if err != nil {
		return &Report{Execution: exec, Calls: int(h.calls.Load())}, err
	}
	return &Report{Execution: exec, Calls: int(h.calls.Load())}, nil
}

// Close closes the sandboxes.
func (p *Program) Close(ctx context.Context) error { return p.pool.Close(ctx) }

// handler answers one program's calls.
type handler struct {
	p      *Program
	cancel context.CancelCauseFunc
	calls  atomic.Int64
	wg     sync.WaitGroup
	mu     sync.Mutex
	infra  error
}

func (h *handler) infraErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.infra
}

// errRefused is what the program sees instead of an infrastructure
// failure's text: the failure goes to the caller, not to the code.
var errRefused = errors.New("the tool failed; the program is stopped")

func (h *handler) call(ctx context.Context, name string, args []byte) ([]byte, error) {
	h.wg.Add(1)
	defer h.wg.Done()
	cfg := &h.p.cfg
	n := h.calls.Add(1)
	if n > int64(cfg.maxCalls) {
		return nil, fmt.Errorf("call limit reached: a program may make at most %d tool calls", cfg.maxCalls)
	}
	e, ok := h.p.tools[name]
	if !ok {
		return nil, fmt.Errorf("unknown tool %q (the tools are: %s)", name, strings.Join(slices.Sorted(maps.Keys(h.p.tools)), ", "))
	}
	if len(args) > cfg.maxArgBytes {
		return nil, fmt.Errorf("the arguments of %s are %d bytes, over the limit of %d", name, len(args), cfg.maxArgBytes)
	}
	if e.schema != nil {
		var v any
		if err := json.Unmarshal(args, &v); err != nil {
			return nil, fmt.Errorf("%s: arguments are not JSON: %v", name, err)
		}
		if err := e.schema.Validate(v); err != nil {
			return nil, fmt.Errorf("%s: arguments do not follow the tool's schema: %v", name, err)
		}
	}
	callCtx, cancel := context.WithTimeout(ctx, cfg.callTimeout)
	defer cancel()
	blocks, err := e.tool.Call(callCtx, args)
	if err != nil {
		if te, ok := errors.AsType[*agent.ToolError](err); ok {
			return nil, fmt.Errorf("%s: %s", name, te.Message)
		}
		if callCtx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("%s: no answer within %s", name, cfg.callTimeout)
		}
		h.mu.Lock()
		if h.infra == nil {
			h.infra = err
		}
		h.mu.Unlock()
		h.cancel(err)
		return nil, errRefused
	}
	out, err := resultJSON(blocks)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(out) > cfg.maxResultBytes {
		return nil, fmt.Errorf("the result of %s is %d bytes, over the limit of %d", name, len(out), cfg.maxResultBytes)
	}
	return out, nil
}

// resultJSON turns a tool's result into the value the program gets: text
// that is JSON as that JSON, other text as a string, and when there are
// images a list of {"type": "text", "text": ...} and {"type": "image",
// "media_type": ..., "data": base64} items.
func resultJSON(blocks []llm.Block) ([]byte, error) {
	texts := make([]string, 0, len(blocks))
	images := false
	for _, b := range blocks {
		switch b := b.(type) {
		case llm.Text:
			texts = append(texts, b.Text)
		case llm.Image:
			images = true
		}
	}
	if !images {
		text := strings.Join(texts, "")
		if t := strings.TrimSpace(text); t != "" && json.Valid([]byte(t)) {
			return []byte(t), nil
		}
		return json.Marshal(text)
	}
	items := make([]map[string]string, 0, len(blocks))
	for _, b := range blocks {
		switch b := b.(type) {
		case llm.Text:
			items = append(items, map[string]string{"type": "text", "text": b.Text})
		case llm.Image:
			it := map[string]string{"type": "image", "media_type": b.MediaType}
			if b.URL != "" {
				it["url"] = b.URL
			} else {
				it["data"] = base64.StdEncoding.EncodeToString(b.Data)
			}
			items = append(items, it)
		}
	}
	return json.Marshal(items)
}

// Blocks renders the report for the model: a text block (the tool calls
// made, stdout, stderr, the last value, the error with its traceback)
// and the images the program displayed.
func (r *Report) Blocks() []llm.Block {
	var b strings.Builder
	ex := r.Execution
	fmt.Fprintf(&b, "tool calls made: %d\n", r.Calls)
	if ex == nil {
		return []llm.Block{llm.Text{Text: b.String()}}
	}
	if s := ex.StdoutText(); s != "" {
		b.WriteString("stdout:\n" + s)
		if !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	if s := ex.StderrText(); s != "" {
		b.WriteString("stderr:\n" + s)
		if !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	var images []llm.Block
	for _, res := range ex.Results {
		if res.IsMainResult && res.Text != "" {
			b.WriteString("result: " + res.Text + "\n")
		}
		for _, img := range []struct{ b64, mt string }{{res.PNG, "image/png"}, {res.JPEG, "image/jpeg"}} {
			if img.b64 == "" {
				continue
			}
			if data, err := base64.StdEncoding.DecodeString(img.b64); err == nil {
				images = append(images, llm.Image{MediaType: img.mt, Data: data})
			}
		}
	}
	if e := ex.Error; e != nil {
		fmt.Fprintf(&b, "error: %s: %s\n%s", e.Name, e.Value, e.Traceback)
	}
	return append([]llm.Block{llm.Text{Text: b.String()}}, images...)
}

var _ agent.Tool = (*Program)(nil)
