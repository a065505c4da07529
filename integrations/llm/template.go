package llm

import (
	"context"
	"strings"
	"text/template"

	"github.com/ttadev/primitives"
	"github.com/ttadev/primitives/recovery"
)

// PromptTemplate is [Prompt] with the user message written by a
// text/template: the returned primitive executes tmpl with its input as
// the data (".") and sends base with one user message holding the result
// appended to base.Messages. base gives the system prompt, the model and
// the other settings; it is copied, never modified.
//
//	fix := llm.PromptTemplate[Attempt](provider, llm.Request{System: "You write Python."},
//		"This code failed:\n{{.Code}}\nError: {{.Error}}\nReturn the corrected code.")
//
// A template that fails on an input (a missing map key with
// "missingkey=error", a method that errors) gives a
// *recovery.InvalidInputError, which is not retried. Rendering costs what
// text/template costs, a few microseconds for a short prompt. It is safe
// for concurrent use. It panics when p is nil or text does not parse.
func PromptTemplate[In any](p primitives.Primitive[Request, Response], base Request, text string) primitives.Primitive[In, string] {
	if primitives.IsNil(p) {
		panic("llm: PromptTemplate: primitive is nil")
	}
	tmpl, err := template.New("prompt").Parse(text)
	if err != nil {
		panic("llm: PromptTemplate: " + err.Error())
	}
	base.Messages = append([]Message(nil), base.Messages...)
	return &templated[In]{p: p, base: base, tmpl: tmpl}
}

type templated[In any] struct {
	p    primitives.Primitive[Request, Response]
	base Request
	tmpl *template.Template
}

// Execute renders the template, runs the model and returns the reply's
// text.
func (t *templated[In]) Execute(ctx context.Context, in In) (string, error) {
	var b strings.Builder
	if err := t.tmpl.Execute(&b, in); err != nil {
		return "", &recovery.InvalidInputError{Field: "prompt template", Reason: err.Error()}
	}
	req := t.base
	req.Messages = make([]Message, len(t.base.Messages), len(t.base.Messages)+1)
	copy(req.Messages, t.base.Messages)
	req.Messages = append(req.Messages, Message{Role: RoleUser, Content: b.String()})
	resp, err := t.p.Execute(ctx, req)
	if err != nil {
		return "", err
	}
	return resp.Text, nil
}
