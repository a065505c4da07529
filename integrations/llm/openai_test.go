package llm

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/recovery"
)

const testOpenAIKey = "sk-proj-TESTKEYtestkey0123456789"

func newTestOpenAI(t testing.TB, url string, opts ...OpenAIOption) *OpenAI {
	t.Helper()
	blankEnv(t)
	p, err := NewOpenAI(append([]OpenAIOption{WithAPIKey(testOpenAIKey), WithBaseURL(url), WithModel("gpt-4.1")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenAIRequestOnTheWire(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAICompletionBody, header: map[string]string{"x-request-id": "req_abc"}})
	p := newTestOpenAI(t, srv.URL+"/v1/")
	temp := 0.3
	resp, err := p.Execute(context.Background(), Request{
		System: "You write Python.",
		Messages: []Message{
			{Role: RoleUser, Content: "Print hello."},
			{Role: RoleAssistant, Content: "print('hi')"},
			{Role: RoleUser, Content: "Now hello."},
		},
		MaxTokens:     128,
		StopSequences: []string{"END"},
		Temperature:   &temp,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Response{Text: "Hello! How can I assist you today?", Content: []Block{Text{Text: "Hello! How can I assist you today?"}},
		Model: "gpt-4.1-2025-04-14", Stop: StopEndTurn, StopReason: "stop",
		Usage: Usage{InputTokens: 19, OutputTokens: 10, CacheReadInputTokens: 4}}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("response = %+v, want %+v", resp, want)
	}
	req := srv.last(t)
	if req.method != http.MethodPost || req.path != "/v1/chat/completions" {
		t.Fatalf("request = %s %s", req.method, req.path)
	}
	if got := req.header.Get("Authorization"); got != "Bearer "+testOpenAIKey {
		t.Fatalf("Authorization = %q", got)
	}
	if got := req.header.Get("X-Stainless-Retry-Count"); got != "0" {
		t.Fatalf("X-Stainless-Retry-Count = %q", got)
	}
	b := req.body
	if b["model"] != "gpt-4.1" || b["max_completion_tokens"] != float64(128) || b["temperature"] != 0.3 {
		t.Fatalf("model/max_completion_tokens/temperature = %v/%v/%v", b["model"], b["max_completion_tokens"], b["temperature"])
	}
	for _, k := range []string{"max_tokens", "stream", "stream_options"} {
		if _, ok := b[k]; ok {
			t.Fatalf("%s sent: %s", k, req.raw)
		}
	}
	stop, _ := b["stop"].([]any)
	if len(stop) != 1 || stop[0] != "END" {
		t.Fatalf("stop = %v", b["stop"])
	}
	msgs, _ := b["messages"].([]any)
	roles := []string{"system", "user", "assistant", "user"}
	texts := []string{"You write Python.", "Print hello.", "print('hi')", "Now hello."}
	if len(msgs) != len(roles) {
		t.Fatalf("messages = %v", b["messages"])
	}
	for i, m := range msgs {
		mm := m.(map[string]any)
		if mm["role"] != roles[i] || mm["content"] != texts[i] {
			t.Fatalf("message %d = %v", i, mm)
		}
	}
}

func TestOpenAIStreamingAsksForUsage(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAIStreamBody, sse: true})
	p := newTestOpenAI(t, srv.URL)
	var deltas []string
	req := userRequest("Say hello")
	req.OnDelta = func(d string) { deltas = append(deltas, d) }
	resp, err := p.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(deltas, []string{"Hel", "lo!"}) {
		t.Fatalf("deltas = %q", deltas)
	}
	want := Response{Text: "Hello!", Content: []Block{Text{Text: "Hello!"}}, Model: "gpt-4o-mini-2024-07-18",
		Stop: StopEndTurn, StopReason: "stop", Usage: Usage{InputTokens: 9, OutputTokens: 2}}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("response = %+v, want %+v", resp, want)
	}
	b := srv.last(t).body
	so, _ := b["stream_options"].(map[string]any)
	if b["stream"] != true || so["include_usage"] != true {
		t.Fatalf("stream/stream_options = %v/%v", b["stream"], b["stream_options"])
	}
}

func TestOpenAIStreamErrorAndCut(t *testing.T) {
	errStream := strings.SplitAfter(openAIStreamBody, "\n\n")[1] +
		`data: {"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}` + "\n\n"
	srv := newFakeServer(t, reply{body: errStream, sse: true})
	p := newTestOpenAI(t, srv.URL)
	req := userRequest("x")
	req.OnDelta = func(string) {}
	_, err := p.Execute(context.Background(), req)
	var api *APIError
	if !errors.As(err, &api) || !api.InStream || api.Type != "server_error" || !recovery.IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable in-stream *APIError", err)
	}

	cut := strings.Join(strings.SplitAfter(openAIStreamBody, "\n\n")[:3], "")
	srv = newFakeServer(t, reply{body: cut, sse: true})
	p = newTestOpenAI(t, srv.URL)
	_, err = p.Execute(context.Background(), req)
	var ce *ConnectionError
	if !errors.As(err, &ce) || !recovery.IsRetryable(err) {
		t.Fatalf("cut stream: err = %v, want a retryable *ConnectionError", err)
	}
}

func TestOpenAIErrorsClassified(t *testing.T) {
	body := func(typ, code, msg string) string {
		c := "null"
		if code != "" {
			c = `"` + code + `"`
		}
		return `{"error":{"message":"` + msg + `","type":"` + typ + `","param":null,"code":` + c + `}}`
	}
	cases := []struct {
		status    int
		typ, code string
		header    map[string]string
		retryable bool
		after     time.Duration
		sentinel  error
	}{
		{400, "invalid_request_error", "", nil, false, 0, nil},
		{401, "invalid_request_error", "invalid_api_key", nil, false, 0, ErrAuthentication},
		{403, "invalid_request_error", "unsupported_country_region_territory", nil, false, 0, ErrAuthentication},
		{404, "invalid_request_error", "model_not_found", nil, false, 0, ErrNotFound},
		{408, "timeout", "", nil, true, 0, nil},
		{409, "conflict", "", nil, true, 0, nil},
		{429, "requests", "rate_limit_exceeded", map[string]string{"retry-after-ms": "250"}, true, 250 * time.Millisecond, ErrRateLimited},
		{429, "insufficient_quota", "insufficient_quota", map[string]string{"Retry-After": "20"}, true, 20 * time.Second, ErrRateLimited},
		{500, "server_error", "", nil, true, 0, nil},
		{502, "server_error", "", nil, true, 0, nil},
		{503, "server_error", "", nil, true, 0, nil},
	}
	for _, c := range cases {
		h := map[string]string{"x-request-id": "req_123"}
		for k, v := range c.header {
			h[k] = v
		}
		srv := newFakeServer(t, reply{status: c.status, header: h, body: body(c.typ, c.code, "about "+c.typ)})
		p := newTestOpenAI(t, srv.URL)
		_, err := p.Execute(context.Background(), userRequest("x"))
		var api *APIError
		if !errors.As(err, &api) {
			t.Fatalf("%d: err = %T %v, want *APIError", c.status, err, err)
		}
		if api.Status != c.status || api.Type != c.typ || api.Code != c.code || api.RequestID != "req_123" || api.Message != "about "+c.typ {
			t.Errorf("%d: error = %+v", c.status, api)
		}
		if got := recovery.IsRetryable(err); got != c.retryable {
			t.Errorf("%d: retryable = %v, want %v", c.status, got, c.retryable)
		}
		if got := recovery.RetryAfter(err); got != c.after {
			t.Errorf("%d: retry after = %v, want %v", c.status, got, c.after)
		}
		if c.sentinel != nil && !errors.Is(err, c.sentinel) {
			t.Errorf("%d: errors.Is(%v) = false", c.status, c.sentinel)
		}
		if n := srv.count(); n != 1 {
			t.Errorf("%d: the server got %d requests, want 1 (the SDK must not retry)", c.status, n)
		}
	}
}

func TestOpenAICompatibleServerWithoutKey(t *testing.T) {
	// Ollama's answer to /v1/chat/completions.
	ollama := `{"id":"chatcmpl-611","object":"chat.completion","created":1764552000,"model":"qwen2.5-coder:7b","system_fingerprint":"fp_ollama","choices":[{"index":0,"message":{"role":"assistant","content":"print(\"hello\")"},"finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":6,"total_tokens":36}}`
	srv := newFakeServer(t, reply{body: ollama})
	blankEnv(t)
	// A key meant for OpenAI must not reach another server named by WithBaseURL.
	t.Setenv(EnvOpenAIAPIKey, "sk-meant-for-openai")
	p, err := NewOpenAI(WithBaseURL(srv.URL+"/v1/"), WithModel("qwen2.5-coder:7b"), WithLegacyMaxTokens(), WithMaxTokens(64))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Execute(context.Background(), userRequest("hello in Python"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != `print("hello")` || resp.Usage.InputTokens != 30 || resp.Model != "qwen2.5-coder:7b" {
		t.Fatalf("response = %+v", resp)
	}
	req := srv.last(t)
	if got := req.header.Get("Authorization"); got != "" {
		t.Fatalf("Authorization = %q, want none", got)
	}
	if req.body["max_tokens"] != float64(64) {
		t.Fatalf("max_tokens = %v (legacy field wanted): %s", req.body["max_tokens"], req.raw)
	}
	if _, ok := req.body["max_completion_tokens"]; ok {
		t.Fatal("max_completion_tokens sent with WithLegacyMaxTokens")
	}
}

func TestOpenAIConfigFromEnvironment(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAICompletionBody})
	blankEnv(t)
	if _, err := NewOpenAI(); !errors.Is(err, ErrNoAPIKey) {
		t.Fatalf("no key for OpenAI's URL: err = %v, want ErrNoAPIKey", err)
	} else if !strings.Contains(err.Error(), EnvOpenAIAPIKey) || !strings.Contains(err.Error(), EnvOpenAIBaseURL) {
		t.Fatalf("the error does not name the variables: %v", err)
	}
	// OPENAI_BASE_URL and OPENAI_API_KEY together: the key goes to that URL.
	t.Setenv(EnvOpenAIBaseURL, srv.URL)
	t.Setenv(EnvOpenAIAPIKey, "sk-from-env")
	t.Setenv("OPENAI_ORG_ID", "org-must-not-be-sent")
	p, err := NewOpenAI(WithModel("m"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Execute(context.Background(), userRequest("x")); err != nil {
		t.Fatal(err)
	}
	req := srv.last(t)
	if got := req.header.Get("Authorization"); got != "Bearer sk-from-env" {
		t.Fatalf("Authorization = %q", got)
	}
	if got := req.header.Get("OpenAI-Organization"); got != "" {
		t.Fatalf("OpenAI-Organization = %q, want none", got)
	}
}

func TestOpenAIRecoveryRetryAndHangUp(t *testing.T) {
	srv := newFakeServer(t,
		reply{hangUp: true},
		reply{status: 429, header: map[string]string{"retry-after-ms": "3"}, body: `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`},
		reply{body: openAICompletionBody})
	p := newTestOpenAI(t, srv.URL)
	r := recovery.Retry[Request, Response](p, recovery.MaxRetries(3), recovery.InitialDelay(time.Millisecond))
	resp, err := r.Execute(context.Background(), userRequest("x"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StopReason != "stop" || srv.count() != 3 {
		t.Fatalf("stop %q after %d requests, want 3", resp.StopReason, srv.count())
	}
}

func TestOpenAINoChoices(t *testing.T) {
	srv := newFakeServer(t, reply{body: `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":0,"total_tokens":1}}`})
	p := newTestOpenAI(t, srv.URL)
	_, err := p.Execute(context.Background(), userRequest("x"))
	var re *ResponseError
	if !errors.As(err, &re) || recovery.IsRetryable(err) {
		t.Fatalf("err = %v, want a non-retryable *ResponseError", err)
	}
}
