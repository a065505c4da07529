package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/google/jsonschema-go/jsonschema"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/recovery"
)

// NewTool makes a Go function a tool the model can call. The JSON Schema
// of its arguments is generated from In (a struct, a pointer to one, or a
// map with string keys) by github.com/google/jsonschema-go: a field's
// "json" tag names its property, "omitempty" or "omitzero" makes it
// optional, and its "jsonschema" tag is its description for the model:
//
//	type weatherIn struct {
//		City string `json:"city" jsonschema:"the city, e.g. Lisbon"`
//		Days int    `json:"days,omitempty" jsonschema:"days ahead, 0 for today"`
//	}
//	weather := agent.NewTool("weather", "The forecast for a city.",
//		func(ctx context.Context, in weatherIn) (Forecast, error) { ... })
//
// Each call checks the model's arguments against the schema before fn
// runs (arguments that do not follow it go back to the model as a
// *ToolError naming what is wrong, and fn is not called), decodes them
// into In, calls fn, and encodes its result for the model: a string as
// text ("" as no content), an llm.Text or llm.Image as that block, a
// []llm.Block as it is (so a tool can return images), anything else as
// its JSON text.
//
// An error of fn goes to the model as a *ToolError, so the model can
// correct itself, unless it is a failure of the infrastructure, which
// ends the run and is returned to the caller of Execute (wrapped in a
// *RunError): an error whose Retryable method (package recovery's
// classification, seen through errors.As) says true, such as an
// *llm.APIError for a 429 or a recovery.Transient error; a context error
// (context.Canceled, context.DeadlineExceeded); a *primitives.PanicError.
// An error without a verdict of its own is the function's own failure
// ("no such city") and goes to the model. A *ToolError goes to the model
// as it is. The run does not retry a failed tool itself: wrap the tool in
// [Retry] for that.
//
// NewTool panics, as the module's constructors do for a programmer
// error, when name is not 1 to 64 letters, digits, '_' or '-', fn is nil,
// or In has no JSON Schema of an object (a channel or a function field, a
// type that is not a struct or a map). The tool is safe for concurrent
// use when fn is. Its own cost per call (validate, decode, call, encode) is
// a few microseconds for a small struct (BenchmarkTypedToolDispatch).
func NewTool[In, Out any](name, description string, fn func(context.Context, In) (Out, error)) Tool {
	return newTypedTool(name, description, fn, classify)
}

// newTypedTool is NewTool with the function deciding where its errors go:
// the built-in tools return *ToolError themselves and every other error is
// a failure of infrastructure (nil classify).
func newTypedTool[In, Out any](name, description string, fn func(context.Context, In) (Out, error), classify func(error) error) Tool {
	if !validName(name) {
		panic(fmt.Sprintf("agent: NewTool: name %q is not 1 to 64 letters, digits, '_' or '-'", name))
	}
	if fn == nil {
		panic(fmt.Sprintf("agent: NewTool(%s): function is nil", name))
	}
	schema, err := jsonschema.For[In](nil)
	if err != nil {
		panic(fmt.Sprintf("agent: NewTool(%s): no JSON Schema for %s: %v", name, reflect.TypeFor[In](), err))
	}
	// A pointer's schema also allows null; the arguments are an object.
	if slices.Contains(schema.Types, "object") {
		schema.Types, schema.Type = nil, "object"
	}
	if schema.Type != "object" {
		panic(fmt.Sprintf("agent: NewTool(%s): the arguments of a tool are a JSON object, but %s is a JSON %s; use a struct", name, reflect.TypeFor[In](), schemaType(schema)))
	}
	resolved, err := schema.Resolve(nil)
	if err != nil {
		panic(fmt.Sprintf("agent: NewTool(%s): resolving the schema of %s: %v", name, reflect.TypeFor[In](), err))
	}
	raw, err := json.Marshal(schema)
	if err != nil {
		panic(fmt.Sprintf("agent: NewTool(%s): encoding the schema of %s: %v", name, reflect.TypeFor[In](), err))
	}
	return &typedTool[In, Out]{
		def:      llm.Tool{Name: name, Description: description, InputSchema: raw},
		schema:   resolved,
		fn:       fn,
		classify: classify,
	}
}

func schemaType(s *jsonschema.Schema) string {
	switch {
	case s.Type != "":
		return s.Type
	case len(s.Types) > 0:
		return fmt.Sprint(s.Types)
	}
	return "value of any type"
}

type typedTool[In, Out any] struct {
	def      llm.Tool
	schema   *jsonschema.Resolved
	fn       func(context.Context, In) (Out, error)
	classify func(error) error
}

// Definition returns the tool's name, description and schema.
func (t *typedTool[In, Out]) Definition() llm.Tool { return t.def }

// Call validates, decodes, calls and encodes; see NewTool.
func (t *typedTool[In, Out]) Call(ctx context.Context, args json.RawMessage) ([]llm.Block, error) {
	if len(args) == 0 || bytes.Equal(bytes.TrimSpace(args), []byte("null")) {
		args = json.RawMessage("{}")
	}
	var v any
	if err := json.Unmarshal(args, &v); err != nil {
		return nil, &ToolError{Message: "the arguments are not valid JSON: " + err.Error(), Err: err}
	}
	if err := t.schema.Validate(v); err != nil {
		return nil, &ToolError{Message: "the arguments do not follow the tool's schema: " + err.Error(), Err: err}
	}
	var in In
	if err := json.Unmarshal(args, &in); err != nil {
		return nil, &ToolError{Message: "the arguments could not be decoded: " + err.Error(), Err: err}
	}
	out, err := t.fn(ctx, in)
	if err != nil {
		if t.classify != nil {
			err = t.classify(err)
		}
		return nil, err
	}
	return encode(t.def.Name, out)
}

// classify decides where a tool function's error goes: to the model as a
// *ToolError, or to the caller as a failure of the infrastructure.
func classify(err error) error {
	var te *ToolError
	if errors.As(err, &te) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *primitives.PanicError
	if errors.As(err, &pe) {
		return err
	}
	if r, ok := errors.AsType[recovery.Retryable](err); ok && r.Retryable() {
		return err
	}
	return &ToolError{Message: err.Error(), Err: err}
}

// encode turns a tool function's result into the content the model
// reads.
func encode[Out any](name string, out Out) ([]llm.Block, error) {
	switch v := any(out).(type) {
	case string:
		if v == "" {
			return nil, nil
		}
		return []llm.Block{llm.Text{Text: v}}, nil
	case []llm.Block:
		return v, nil
	case llm.Text:
		return []llm.Block{v}, nil
	case llm.Image:
		return []llm.Block{v}, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("agent: tool %s: encoding its result: %w", name, err)
	}
	return []llm.Block{llm.Text{Text: string(b)}}, nil
}
