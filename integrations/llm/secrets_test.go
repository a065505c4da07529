package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/ttadev/primitives/observability"
)

var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%p", "%100v", "%-10s", "%T %v"}

// formatted prints v with every verb, directly and nested in a struct and
// a slice, as a log line or an error message would.
func formatted(v any) string {
	var b strings.Builder
	type holder struct {
		P any
		p any
	}
	for _, verb := range verbs {
		for _, x := range []any{v, holder{P: v, p: v}, []any{v}, &holder{P: v}} {
			if strings.Count(verb, "%") == 2 {
				fmt.Fprintf(&b, verb+"\n", x, x)
			} else {
				fmt.Fprintf(&b, verb+"\n", x)
			}
		}
	}
	return b.String()
}

func TestKeysNeverFormatted(t *testing.T) {
	blankEnv(t)
	a, err := NewAnthropic(WithAPIKey(testAnthropicKey), WithModel("claude-sonnet-4-5"), WithBaseURL("https://user:pa55word@gateway.example/"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewOpenAI(WithAPIKey(testOpenAIKey), WithModel("gpt-4.1"), WithBaseURL("http://127.0.0.1:11434/v1/"))
	if err != nil {
		t.Fatal(err)
	}
	out := formatted(a) + formatted(o) + formatted(*a) + formatted(*o) + formatted(WithAPIKey(testOpenAIKey))
	for _, secret := range []string{testAnthropicKey, testOpenAIKey, "TESTKEY", "pa55word"} {
		if strings.Contains(out, secret) {
			t.Fatalf("%q printed by a fmt verb", secret)
		}
	}
	if got := fmt.Sprint(a); got != "llm.Anthropic{model: claude-sonnet-4-5, base_url: https://redacted@gateway.example/, api_key: set}" {
		t.Fatalf("%%v = %s", got)
	}
	if got := fmt.Sprintf("%#v", o); got != "llm.OpenAI{model: gpt-4.1, base_url: http://127.0.0.1:11434/v1/, api_key: set}" {
		t.Fatalf("%%#v = %s", got)
	}

	var logs bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&logs, nil))
	l.Info("provider", "anthropic", a, "openai", o)
	l.Info("provider", slog.Any("value", *a))
	j, _ := json.Marshal(a)
	if s := logs.String() + string(j); strings.Contains(s, "TESTKEY") {
		t.Fatalf("a key in a log record or JSON: %s", s)
	}
}

func TestKeysNeverInErrorsOrSpans(t *testing.T) {
	sink := newSink(t)
	// A service that echoes the key in its message, as some do for a
	// malformed one.
	body := `{"error":{"message":"Incorrect API key provided: ` + testOpenAIKey + `. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`
	srv := newFakeServer(t, reply{status: 401, body: body})
	var logs bytes.Buffer
	p := newTestOpenAI(t, srv.URL, observability.WithProviders(observability.Providers{
		TracerProvider: sink.tp, MeterProvider: sink.mp, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}))
	_, err := p.Execute(context.Background(), userRequest("x"))
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(err.Error(), "Incorrect API key provided: [redacted]") {
		t.Fatalf("message = %v", err)
	}
	var spanText strings.Builder
	for _, s := range sink.spans.Ended() {
		fmt.Fprintf(&spanText, "%s %v %v", s.Name(), s.Attributes(), s.Status())
		for _, e := range s.Events() {
			fmt.Fprintf(&spanText, " %v", e.Attributes)
		}
	}
	all := formatted(err) + spanText.String() + logs.String()
	if strings.Contains(all, "TESTKEY") {
		t.Fatal("the key reached an error, a span or a log record")
	}
	if !strings.Contains(logs.String(), `msg="llm call"`) || !strings.Contains(logs.String(), "error.type=401") {
		t.Fatalf("no debug record of the failed call: %s", logs.String())
	}
	if !strings.Contains(spanText.String(), "[redacted]") {
		t.Fatalf("the span does not carry the (redacted) error: %s", spanText.String())
	}

	a := newTestAnthropic(t, "http://127.0.0.1:1")
	_, err = a.Execute(context.Background(), userRequest("x"))
	if err == nil || strings.Contains(formatted(err), "TESTKEY") {
		t.Fatalf("connection error shows the key or is nil: %v", err)
	}
}
