package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/recovery"
)

type searchIn struct {
	Query string   `json:"query" jsonschema:"what to look for"`
	Limit int      `json:"limit,omitempty" jsonschema:"at most this many hits"`
	Tags  []string `json:"tags,omitempty"`
}

// The schema comes from the type: properties named by the json tags,
// descriptions from the jsonschema tags, required unless omitempty, no
// other properties.
func TestTypedToolSchema(t *testing.T) {
	tool := agent.NewTool("search", "Searches.", func(context.Context, searchIn) (string, error) { return "", nil })
	def := tool.Definition()
	if def.Name != "search" || def.Description != "Searches." {
		t.Fatalf("definition %+v", def)
	}
	var s struct {
		Type       string `json:"type"`
		Properties map[string]struct {
			Type        any    `json:"type"`
			Description string `json:"description"`
		} `json:"properties"`
		Required             []string `json:"required"`
		AdditionalProperties any      `json:"additionalProperties"`
	}
	if err := json.Unmarshal(def.InputSchema, &s); err != nil {
		t.Fatal(err)
	}
	if s.Type != "object" || fmt.Sprint(s.Required) != "[query]" || s.AdditionalProperties != false {
		t.Fatalf("schema %s", def.InputSchema)
	}
	if p := s.Properties["query"]; p.Type != "string" || p.Description != "what to look for" {
		t.Fatalf("query %+v", p)
	}
	if p := s.Properties["limit"]; p.Type != "integer" || p.Description != "at most this many hits" {
		t.Fatalf("limit %+v", p)
	}

	// A pointer's schema is the object's, without null.
	ptr := agent.NewTool("p", "", func(context.Context, *searchIn) (string, error) { return "", nil })
	if !strings.HasPrefix(string(ptr.Definition().InputSchema), `{"type":"object"`) {
		t.Fatalf("pointer schema %s", ptr.Definition().InputSchema)
	}
	// No arguments at all.
	none := agent.NewTool("none", "", func(context.Context, struct{}) (string, error) { return "ok", nil })
	if got := string(none.Definition().InputSchema); got != `{"type":"object","additionalProperties":false}` {
		t.Fatalf("empty schema %s", got)
	}
	for _, args := range []string{"", "null", "{}", " null "} {
		if out, err := none.Call(context.Background(), json.RawMessage(args)); err != nil || text(out) != "ok" {
			t.Fatalf("arguments %q: %v", args, err)
		}
	}
}

func TestTypedToolArguments(t *testing.T) {
	var got searchIn
	tool := agent.NewTool("search", "", func(_ context.Context, in searchIn) (string, error) { got = in; return "found", nil })
	out, err := tool.Call(context.Background(), json.RawMessage(`{"query":"go","limit":3,"tags":["a"]}`))
	if err != nil || text(out) != "found" || got.Query != "go" || got.Limit != 3 || len(got.Tags) != 1 {
		t.Fatalf("%v, %+v", err, got)
	}
	for args, want := range map[string]string{
		`{"limit":3}`:                   `required: missing properties: ["query"]`,
		`{"query":"go","limit":2.5}`:    `has type "number", want "integer"`,
		`{"query":"go","page":2}`:       `unexpected additional properties ["page"]`,
		`["go"]`:                        `want "object"`,
		`{"query":"go","limit":1e400}`:  "not valid JSON",
		`{"query":"go","limit":"many"}`: `want "integer"`,
	} {
		got = searchIn{}
		_, err := tool.Call(context.Background(), json.RawMessage(args))
		var te *agent.ToolError
		if !errors.As(err, &te) || !strings.Contains(te.Message, want) || got.Query != "" {
			t.Errorf("arguments %s: %v; want a *ToolError with %q and the function not called", args, err, want)
		}
	}
	// A value the schema allows (a string) but In cannot hold.
	when := agent.NewTool("when", "", func(context.Context, struct {
		At time.Time `json:"at"`
	}) (string, error) {
		return "", nil
	})
	if _, err := when.Call(context.Background(), json.RawMessage(`{"at":"yesterday"}`)); !errors.As(err, new(*agent.ToolError)) || !strings.Contains(err.Error(), "could not be decoded") {
		t.Fatalf("bad time: %v", err)
	}
}

// Where a function's error goes: to the model (a *ToolError) or to the
// caller (infrastructure).
func TestTypedToolErrorClassification(t *testing.T) {
	base := errors.New("boom")
	for _, tc := range []struct {
		name    string
		err     error
		toModel bool
	}{
		{"plain", base, true},
		{"permanent", recovery.Permanent(base), true},
		{"tool error", &agent.ToolError{Message: "say this", Err: base}, true},
		{"wrapped tool error", fmt.Errorf("ctx: %w", &agent.ToolError{Message: "say this"}), true},
		{"invalid input", &recovery.InvalidInputError{Field: "x", Reason: "bad"}, true},
		{"transient", recovery.Transient(base, 0), false},
		{"rate limited", &llm.APIError{Provider: "p", Status: 429}, false},
		{"canceled", context.Canceled, false},
		{"deadline", fmt.Errorf("fetching: %w", context.DeadlineExceeded), false},
		{"panic", &primitives.PanicError{Value: "x"}, false},
	} {
		tool := agent.NewTool("f", "", func(context.Context, struct{}) (string, error) { return "", tc.err })
		_, err := tool.Call(context.Background(), nil)
		var te *agent.ToolError
		if errors.As(err, &te) != tc.toModel {
			t.Errorf("%s: got %T %v; to the model: %v", tc.name, err, err, tc.toModel)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: %v does not keep the function's error", tc.name, err)
		}
		if tc.toModel && tc.name == "plain" && te.Message != "boom" {
			t.Errorf("message %q", te.Message)
		}
	}
}

func TestTypedToolResults(t *testing.T) {
	img := llm.Image{MediaType: "image/png", Data: []byte{1, 2}}
	ctx := context.Background()
	check := func(name string, tool agent.Tool, want []llm.Block) {
		t.Helper()
		out, err := tool.Call(ctx, nil)
		if err != nil || fmt.Sprint(out) != fmt.Sprint(want) {
			t.Errorf("%s: %v, %v; want %v", name, out, err, want)
		}
	}
	check("string", agent.NewTool("s", "", func(context.Context, struct{}) (string, error) { return "hi", nil }), []llm.Block{llm.Text{Text: "hi"}})
	check("empty string", agent.NewTool("s", "", func(context.Context, struct{}) (string, error) { return "", nil }), nil)
	check("blocks", agent.NewTool("b", "", func(context.Context, struct{}) ([]llm.Block, error) {
		return []llm.Block{llm.Text{Text: "a plot:"}, img}, nil
	}), []llm.Block{llm.Text{Text: "a plot:"}, img})
	check("image", agent.NewTool("i", "", func(context.Context, struct{}) (llm.Image, error) { return img, nil }), []llm.Block{img})
	check("struct", agent.NewTool("j", "", func(context.Context, struct{}) (forecast, error) {
		return forecast{City: "<Porto>", TempC: 20}, nil
	}), []llm.Block{llm.Text{Text: `{"city":"\u003cPorto\u003e","temp_c":20}`}})
	check("map", agent.NewTool("m", "", func(context.Context, map[string]any) (map[string]int, error) {
		return map[string]int{"b": 2, "a": 1}, nil
	}), []llm.Block{llm.Text{Text: `{"a":1,"b":2}`}})

	// A result JSON cannot encode is the tool's bug: not for the model.
	bad := agent.NewTool("c", "", func(context.Context, struct{}) (chan int, error) { return make(chan int), nil })
	if _, err := bad.Call(ctx, nil); err == nil || errors.As(err, new(*agent.ToolError)) {
		t.Fatalf("unencodable result: %v", err)
	}
}

func TestNewToolPanics(t *testing.T) {
	fn := func(context.Context, struct{}) (string, error) { return "", nil }
	for name, f := range map[string]func(){
		"empty name": func() { agent.NewTool("", "", fn) },
		"long name":  func() { agent.NewTool(strings.Repeat("a", 65), "", fn) },
		"bad name":   func() { agent.NewTool("read file", "", fn) },
		"nil func":   func() { agent.NewTool[struct{}, string]("x", "", nil) },
		"not object": func() {
			agent.NewTool("x", "", func(context.Context, int) (string, error) { return "", nil })
		},
		"channel field": func() {
			agent.NewTool("x", "", func(context.Context, struct{ C chan int }) (string, error) { return "", nil })
		},
	} {
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.HasPrefix(fmt.Sprint(p), "agent: NewTool") {
					t.Errorf("%s: recovered %v", name, p)
				}
			}()
			f()
		}()
	}
	if tool := agent.NewTool(strings.Repeat("a", 64), "", fn); tool == nil {
		t.Fatal("a 64-character name was refused")
	}
}
