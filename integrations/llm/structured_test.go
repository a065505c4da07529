package llm

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ttadev/primitives/recovery"
)

// Review is the reply type of these tests: nested structs, a slice, a
// sized integer, a pointer and descriptions.
type Review struct {
	Correct bool    `json:"correct" jsonschema:"whether the code does what was asked"`
	Issues  []Issue `json:"issues" jsonschema:"what is wrong, one issue per item"`
	Score   uint8   `json:"score"`
	Note    *string `json:"note,omitempty"`
}

// Issue is one issue of a Review.
type Issue struct {
	Line int    `json:"line" jsonschema:"the line, from 1"`
	Text string `json:"text"`
}

// reviewSchema is the schema sent for Review: every property required,
// no other allowed, the field order kept, the uint8 range in the
// description.
const reviewSchema = `{
	"type": "object",
	"properties": {
		"correct": {"type": "boolean", "description": "whether the code does what was asked"},
		"issues": {
			"type": ["null", "array"],
			"description": "what is wrong, one issue per item",
			"items": {
				"type": "object",
				"properties": {
					"line": {"type": "integer", "description": "the line, from 1"},
					"text": {"type": "string"}
				},
				"required": ["line", "text"],
				"additionalProperties": false
			}
		},
		"score": {"type": "integer", "description": "(minimum 0, maximum 255)"},
		"note": {"type": ["null", "string"]}
	},
	"required": ["correct", "issues", "score", "note"],
	"additionalProperties": false
}`

// answering is a Primitive[Request, Response] that answers with scripted
// replies in order (the last one repeats) and records the requests: the
// stand-in for a provider when what is checked is the step around it.
type answering struct {
	mu      sync.Mutex
	replies []Response
	err     error
	reqs    []Request
}

func (a *answering) Execute(_ context.Context, req Request) (Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reqs = append(a.reqs, req)
	if a.err != nil {
		return Response{}, a.err
	}
	return a.replies[min(len(a.reqs), len(a.replies))-1], nil
}

func (a *answering) requests() []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Request(nil), a.reqs...)
}

func reviewRequest(code string) Request {
	return Request{System: "You review Python.", Messages: []Message{{Role: RoleUser, Content: "Review:\n" + code}},
		ResponseFormat: &JSONSchemaFormat{Name: "replaced", Schema: json.RawMessage(`{"type":"string"}`)}}
}

func sameSchemaJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("JSON = %s\nwant %s", got, want)
	}
}

func TestStructuredRequestAndDecode(t *testing.T) {
	p := &answering{replies: []Response{{
		Text: `{"correct": false, "issues": [{"line": 3, "text": "x is undefined"}], "score": 40, "note": null}`,
		Stop: StopEndTurn,
	}}}
	review := Structured[string, Review](p, reviewRequest, WithSchemaDescription("a code review"))
	got, err := review.Execute(context.Background(), "print(x)")
	if err != nil {
		t.Fatal(err)
	}
	want := Review{Issues: []Issue{{Line: 3, Text: "x is undefined"}}, Score: 40}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("review = %+v, want %+v", got, want)
	}
	reqs := p.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	req := reqs[0]
	if req.System != "You review Python." || len(req.Messages) != 1 || req.Messages[0].Content != "Review:\nprint(x)" {
		t.Fatalf("the request built is not the one sent: %+v", req)
	}
	f := req.ResponseFormat
	if f == nil || f.Name != "Review" || f.Description != "a code review" {
		t.Fatalf("response format = %+v", f)
	}
	sameSchemaJSON(t, f.Schema, reviewSchema)

	note := "fine"
	p.replies = []Response{{Text: `{"correct":true,"issues":null,"score":255,"note":"fine"}`}}
	got, err = review.Execute(context.Background(), "print(1)")
	if err != nil || !reflect.DeepEqual(got, Review{Correct: true, Score: 255, Note: &note}) {
		t.Fatalf("review = %+v, %v", got, err)
	}
}

func TestStructuredRefusesBadReplies(t *testing.T) {
	const secret = "SECRET-IN-THE-REPLY"
	for _, c := range []struct {
		name, reply, reason string
		stop                StopReason
	}{
		{"empty", "", "not one JSON value", ""},
		{"prose", "The code is fine. " + secret, "not one JSON value", ""},
		{"fenced", "```json\n{\"correct\":true,\"issues\":[],\"score\":1,\"note\":null}\n```", "not one JSON value", ""},
		{"two values", `{"correct":true,"issues":[],"score":1,"note":null} {}`, "not one JSON value", ""},
		{"cut", `{"correct":true,"issues":[{"line":1,"text":"` + secret, "cut at its token limit", StopMaxTokens},
		{"missing property", `{"correct":true,"issues":[],"score":1}`, "note", ""},
		{"missing nested property", `{"correct":true,"issues":[{"line":1}],"score":1,"note":null}`, "text", ""},
		{"extra property", `{"correct":true,"issues":[],"score":1,"note":null,"why":"` + secret + `"}`, "why", ""},
		{"wrong type", `{"correct":"` + secret + `","issues":[],"score":1,"note":null}`, `/properties/correct: type: <string> has type "string"`, ""},
		{"wrong nested type", `{"correct":true,"issues":[{"line":"` + secret + `","text":"a"}],"score":1,"note":null}`, "line", ""},
		{"string for an array", `{"correct":true,"issues":"` + secret + `","score":1,"note":null}`, "issues", ""},
		{"array for a string", `{"correct":true,"issues":[],"score":1,"note":["` + secret + `"]}`, "note", ""},
		{"out of range", `{"correct":true,"issues":[],"score":300,"note":null}`, "score", ""},
		{"fraction for an integer", `{"correct":true,"issues":[],"score":1.5,"note":null}`, "score", ""},
		{"array", `[]`, "type", ""},
		{"null", `null`, "type", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &answering{replies: []Response{{Text: c.reply, Stop: c.stop}}}
			_, err := Structured[string, Review](p, reviewRequest).Execute(context.Background(), "x")
			var se *StructuredOutputError
			if !errors.As(err, &se) || !errors.Is(err, ErrStructuredOutput) {
				t.Fatalf("err = %v, want a *StructuredOutputError", err)
			}
			if se.Raw != c.reply {
				t.Fatalf("Raw = %q, want the reply", se.Raw)
			}
			if recovery.IsRetryable(err) {
				t.Fatal("retryable")
			}
			if !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("err = %v, want it to say %q", err, c.reason)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the reply's text is in the error's message: %v", err)
			}
		})
	}
	// recovery.Retry does not ask again.
	p := &answering{replies: []Response{{Text: "no"}}}
	step := recovery.Retry(Structured[string, Review](p, reviewRequest), recovery.MaxRetries(3), recovery.InitialDelay(time.Millisecond))
	if _, err := step.Execute(context.Background(), "x"); !errors.Is(err, ErrStructuredOutput) || len(p.requests()) != 1 {
		t.Fatalf("err = %v after %d requests, want one", err, len(p.requests()))
	}
}

func TestStructuredReturnsTheProvidersErrors(t *testing.T) {
	limited := &APIError{Provider: ProviderOpenAI, Status: 429, Type: "requests"}
	p := &answering{err: limited}
	got, err := Structured[string, Review](p, reviewRequest).Execute(context.Background(), "x")
	if err != limited || !reflect.DeepEqual(got, Review{}) {
		t.Fatalf("got %+v, %v; want the provider's error as it is", got, err)
	}
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want one saying %q", want)
		}
		if s, _ := r.(string); !strings.HasPrefix(s, "llm: ") || !strings.Contains(s, want) {
			t.Fatalf("panic %v, want it to say %q", r, want)
		}
	}()
	f()
}

type withMap struct {
	Counts map[string]int `json:"counts"`
}
type withAny struct {
	Value any `json:"value"`
}
type withBytes struct {
	Data []byte `json:"data"`
}
type withRaw struct {
	Extra json.RawMessage `json:"extra"`
}
type withStringOption struct {
	N int `json:"n,string"`
}
type withFunc struct {
	F func() `json:"f"`
}
type recursive struct {
	Children []recursive `json:"children"`
}
type textual struct{ v string }

func (t *textual) UnmarshalText(b []byte) error { t.v = string(b); return nil }

type withTextual struct {
	T textual `json:"t"`
}
type Base struct {
	ID string `json:"id"`
}
type withNamedEmbedded struct {
	Base `json:"base"`
}

func TestStructuredRefusesTypes(t *testing.T) {
	p := &answering{}
	mustPanic(t, "not a struct", func() { Structured[string, map[string]int](p, reviewRequest) })
	mustPanic(t, "not a struct", func() { Structured[string, *Review](p, reviewRequest) })
	mustPanic(t, "not a struct", func() { Structured[string, []Review](p, reviewRequest) })
	mustPanic(t, "withMap.Counts: a map", func() { Structured[string, withMap](p, reviewRequest) })
	mustPanic(t, "withAny.Value: an interface", func() { Structured[string, withAny](p, reviewRequest) })
	mustPanic(t, "withBytes.Data: []uint8 is base64", func() { Structured[string, withBytes](p, reviewRequest) })
	mustPanic(t, "withRaw.Extra: the type json.RawMessage decodes itself", func() { Structured[string, withRaw](p, reviewRequest) })
	mustPanic(t, `",string"`, func() { Structured[string, withStringOption](p, reviewRequest) })
	mustPanic(t, "withFunc.F: the type func() has no JSON form", func() { Structured[string, withFunc](p, reviewRequest) })
	mustPanic(t, "recursive types are not supported", func() { Structured[string, recursive](p, reviewRequest) })
	mustPanic(t, "withTextual.T: the type llm.textual decodes itself", func() { Structured[string, withTextual](p, reviewRequest) })
	mustPanic(t, "embedded struct named by a json tag", func() { Structured[string, withNamedEmbedded](p, reviewRequest) })
	mustPanic(t, "primitive is nil", func() { Structured[string, Review](nil, reviewRequest) })
	mustPanic(t, "build function is nil", func() { Structured[string, Review](p, nil) })
	mustPanic(t, "option 0 is nil", func() { Structured[string, Review](p, reviewRequest, nil) })
	mustPanic(t, "not 1 to 64 letters", func() { WithSchemaName("a review") })
}

// Pair is generic: its type name is not a valid schema name.
type Pair[A any] struct {
	First  A `json:"first"`
	Second A `json:"second"`
}

type embedding struct {
	Base
	When time.Time `json:"when"`
}

func TestStructuredSchemaNamesAndShapes(t *testing.T) {
	p := &answering{replies: []Response{{Text: `{"first":1,"second":2}`}}}
	pair, err := Structured[string, Pair[int]](p, reviewRequest).Execute(context.Background(), "x")
	if err != nil || pair != (Pair[int]{1, 2}) {
		t.Fatalf("pair = %+v, %v", pair, err)
	}
	if n := p.requests()[0].ResponseFormat.Name; n != "response" {
		t.Fatalf("name = %q, want response for a generic type", n)
	}
	if _, err := Structured[string, Pair[int]](p, reviewRequest, WithSchemaName("pair_v2")).Execute(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if n := p.requests()[1].ResponseFormat.Name; n != "pair_v2" {
		t.Fatalf("name = %q, want the option's", n)
	}

	// An embedded struct's fields are the object's own, as encoding/json
	// has them; time.Time is a date-time string.
	p = &answering{replies: []Response{{Text: `{"id":"r1","when":"2026-12-01T01:00:00Z"}`}}}
	e, err := Structured[string, embedding](p, reviewRequest).Execute(context.Background(), "x")
	if err != nil || e.ID != "r1" || !e.When.Equal(time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)) {
		t.Fatalf("embedding = %+v, %v", e, err)
	}
	sameSchemaJSON(t, p.requests()[0].ResponseFormat.Schema, `{
		"type": "object",
		"properties": {"id": {"type": "string"}, "when": {"type": "string", "format": "date-time"}},
		"required": ["id", "when"],
		"additionalProperties": false
	}`)
	// A string that is no date-time passes the schema (format is a hint
	// to the model) but not the decoding.
	p.replies = []Response{{Text: `{"id":"r1","when":"SECRET-yesterday"}`}}
	if _, err := Structured[string, embedding](p, reviewRequest).Execute(context.Background(), "x"); !errors.Is(err, ErrStructuredOutput) ||
		!strings.Contains(err.Error(), "does not decode") || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("err = %v", err)
	}
	// Fixed-size arrays say their size in the description.
	type fixed struct {
		Point [2]float64 `json:"point" jsonschema:"x and y"`
	}
	p.replies = []Response{{Text: `{"point":[1,2,3]}`}}
	_, err = Structured[string, fixed](p, reviewRequest).Execute(context.Background(), "x")
	if !errors.Is(err, ErrStructuredOutput) {
		t.Fatalf("three items for [2]float64: err = %v", err)
	}
	sameSchemaJSON(t, p.requests()[len(p.requests())-1].ResponseFormat.Schema, `{
		"type": "object",
		"properties": {"point": {"type": "array", "items": {"type": "number"}, "description": "x and y (exactly 2 items)"}},
		"required": ["point"],
		"additionalProperties": false
	}`)
}

// TestStructuredOverOpenAI runs the step on the OpenAI provider against a
// server speaking the Chat Completions API: the reply's content is the
// JSON, and the request carries the schema as response_format.
func TestStructuredOverOpenAI(t *testing.T) {
	body := `{"id":"chatcmpl-C1r","object":"chat.completion","created":1764552000,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"message":{"role":"assistant","content":"{\"correct\":false,\"issues\":[{\"line\":1,\"text\":\"x is not defined\"}],\"score\":20,\"note\":null}","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":31,"total_tokens":151,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_b3f1157249"}`
	srv := newFakeServer(t, reply{body: body})
	review := Structured[string, Review](newTestOpenAI(t, srv.URL), reviewRequest, WithSchemaDescription("a code review"))
	got, err := review.Execute(context.Background(), "print(x)")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Review{Issues: []Issue{{Line: 1, Text: "x is not defined"}}, Score: 20}); !reflect.DeepEqual(got, want) {
		t.Fatalf("review = %+v, want %+v", got, want)
	}
	req := srv.last(t)
	rf, _ := req.body["response_format"].(map[string]any)
	if rf["type"] != "json_schema" {
		t.Fatalf("response_format = %v, want type json_schema: %s", req.body["response_format"], req.raw)
	}
	js, _ := rf["json_schema"].(map[string]any)
	if js["name"] != "Review" || js["description"] != "a code review" || js["strict"] != true {
		t.Fatalf("json_schema = %v, want name Review, the description and strict true", js)
	}
	schema, err := json.Marshal(js["schema"])
	if err != nil {
		t.Fatal(err)
	}
	sameSchemaJSON(t, schema, reviewSchema)
}

// BenchmarkStructuredDecode times checking a small reply against its
// schema and decoding it into the struct.
//
//	go test -run '^$' -bench StructuredDecode -benchmem ./integrations/llm/
func BenchmarkStructuredDecode(b *testing.B) {
	s := Structured[string, Review](&answering{}, reviewRequest).(*structured[string, Review])
	resp := Response{Text: `{"correct":false,"issues":[{"line":3,"text":"x is undefined"},{"line":7,"text":"missing return"}],"score":40,"note":"see line 3"}`}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.decode(&resp); err != nil {
			b.Fatal(err)
		}
	}
}
