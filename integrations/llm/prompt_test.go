package llm

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ttadev/primitives"
	"github.com/ttadev/primitives/recovery"
)

func TestPromptInAPipeline(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAICompletionBody})
	p := newTestOpenAI(t, srv.URL)
	ask := Prompt(p, func(task string) Request {
		return Request{System: "terse", Messages: []Message{{Role: RoleUser, Content: "Task: " + task}}}
	})
	upper := primitives.Lift(strings.ToUpper)
	out, err := primitives.Then(ask, upper).Execute(context.Background(), "greet")
	if err != nil {
		t.Fatal(err)
	}
	if out != "HELLO! HOW CAN I ASSIST YOU TODAY?" {
		t.Fatalf("out = %q", out)
	}
	msgs := srv.last(t).body["messages"].([]any)
	if msgs[1].(map[string]any)["content"] != "Task: greet" {
		t.Fatalf("messages = %v", msgs)
	}

	bad := newFakeServer(t, reply{status: 404, body: `{"error":{"message":"The model 'nope' does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}`})
	ask = Prompt(newTestOpenAI(t, bad.URL), func(task string) Request { return userRequest(task) })
	if _, err := ask.Execute(context.Background(), "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want the provider's error unchanged", err)
	}
}

func TestPromptTemplate(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAICompletionBody})
	p := newTestOpenAI(t, srv.URL)
	type attempt struct{ Code, Error string }
	base := Request{System: "You fix Python.", Messages: []Message{{Role: RoleUser, Content: "Earlier turn"}, {Role: RoleAssistant, Content: "ok"}}}
	fix := PromptTemplate[attempt](p, base, "Code:\n{{.Code}}\nError: {{.Error}}")
	if _, err := fix.Execute(context.Background(), attempt{Code: "print(x)", Error: "NameError: name 'x' is not defined"}); err != nil {
		t.Fatal(err)
	}
	msgs := srv.last(t).body["messages"].([]any)
	if len(msgs) != 4 {
		t.Fatalf("messages = %v", msgs)
	}
	if got := msgs[3].(map[string]any)["content"]; got != "Code:\nprint(x)\nError: NameError: name 'x' is not defined" {
		t.Fatalf("rendered = %q", got)
	}
	if len(base.Messages) != 2 {
		t.Fatal("the base request was modified")
	}

	failing := PromptTemplate[map[string]int](p, Request{}, "{{index . \"a\" | printf \"%d\"}}{{.a.b}}")
	_, err := failing.Execute(context.Background(), map[string]int{"a": 1})
	var bad *recovery.InvalidInputError
	if !errors.As(err, &bad) {
		t.Fatalf("err = %v, want *recovery.InvalidInputError", err)
	}
}

func TestConstructorsPanicOnProgrammerErrors(t *testing.T) {
	blankEnv(t)
	mustPanic := func(name, want string, f func()) {
		t.Helper()
		defer func() {
			r := recover()
			if r == nil || !strings.Contains(r.(string), want) {
				t.Errorf("%s: panic %v, want one containing %q", name, r, want)
			}
		}()
		f()
	}
	mustPanic("nil primitive", "llm: Prompt: primitive is nil", func() { Prompt[string](nil, func(string) Request { return Request{} }) })
	mustPanic("nil build", "llm: Prompt: build function is nil", func() { Prompt[string](&OpenAI{}, nil) })
	mustPanic("bad template", "llm: PromptTemplate:", func() { PromptTemplate[string](&OpenAI{}, Request{}, "{{") })
	mustPanic("empty key", "llm: WithAPIKey: empty key", func() { WithAPIKey("") })
	mustPanic("bad URL", "llm: WithBaseURL:", func() { WithBaseURL("localhost:11434") })
	mustPanic("max tokens", "llm: WithMaxTokens:", func() { WithMaxTokens(0) })
	mustPanic("nil option", "llm: NewOpenAI: option 0 is nil", func() { _, _ = NewOpenAI(nil) })
	mustPanic("zero option", "llm: NewAnthropic: option 0 is the zero Option", func() { _, _ = NewAnthropic(Option{}) })
}
