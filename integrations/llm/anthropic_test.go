package llm

import (
	"context"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/recovery"
)

const testAnthropicKey = "sk-ant-api03-TESTKEYtestkey0123456789"

func newTestAnthropic(t testing.TB, url string, opts ...AnthropicOption) *Anthropic {
	t.Helper()
	blankEnv(t)
	p, err := NewAnthropic(append([]AnthropicOption{WithAPIKey(testAnthropicKey), WithBaseURL(url), WithModel("claude-sonnet-4-5")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAnthropicRequestOnTheWire(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicMessageBody, header: map[string]string{"request-id": "req_011"}})
	p := newTestAnthropic(t, srv.URL)
	resp, err := p.Execute(context.Background(), Request{
		System: "You write Python.",
		Messages: []Message{
			{Role: RoleUser, Content: "Print hello."},
			{Role: RoleAssistant, Content: "print('hi')"},
			{Role: RoleUser, Content: "Now hello."},
		},
		MaxTokens:     256,
		StopSequences: []string{"```\n\n"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Response{Text: "Hello, world", Content: []Block{Text{Text: "Hello"}, Text{Text: ", world"}},
		Model: "claude-sonnet-4-5-20250929", Stop: StopEndTurn, StopReason: "end_turn",
		Usage: Usage{InputTokens: 20, OutputTokens: 6, CacheReadInputTokens: 5, CacheCreationInputTokens: 3}}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("response = %+v, want %+v", resp, want)
	}
	req := srv.last(t)
	if req.method != http.MethodPost || req.path != "/v1/messages" {
		t.Fatalf("request = %s %s, want POST /v1/messages", req.method, req.path)
	}
	if got := req.header.Get("Authorization"); got != "Bearer "+testAnthropicKey {
		t.Fatalf("Authorization = %q, want Bearer <key>", got)
	}
	if got := req.header.Get("X-Api-Key"); got != "" {
		t.Fatalf("X-Api-Key = %q, want none (the SDK sends a bearer token)", got)
	}
	if got := req.header.Get("anthropic-version"); got != AnthropicAPIVersion {
		t.Fatalf("anthropic-version = %q, want %q", got, AnthropicAPIVersion)
	}
	if got := req.header.Get("X-Stainless-Retry-Count"); got != "0" {
		t.Fatalf("X-Stainless-Retry-Count = %q, want 0", got)
	}
	if got := req.header.Get("Traceparent"); got != "" {
		t.Fatalf("traceparent = %q with tracing off, want none", got)
	}
	b := req.body
	if b["model"] != "claude-sonnet-4-5" || b["max_tokens"] != float64(256) {
		t.Fatalf("model/max_tokens = %v/%v", b["model"], b["max_tokens"])
	}
	if _, ok := b["stream"]; ok {
		t.Fatalf("stream sent on a non-streaming call: %s", req.raw)
	}
	for _, k := range []string{"temperature", "top_p", "top_k"} {
		if _, ok := b[k]; ok {
			t.Fatalf("%s sent: %s", k, req.raw)
		}
	}
	sys, _ := b["system"].([]any)
	if len(sys) != 1 || sys[0].(map[string]any)["text"] != "You write Python." || sys[0].(map[string]any)["type"] != "text" {
		t.Fatalf("system = %v", b["system"])
	}
	msgs, _ := b["messages"].([]any)
	if len(msgs) != 3 {
		t.Fatalf("messages = %v", b["messages"])
	}
	roles := []string{"user", "assistant", "user"}
	texts := []string{"Print hello.", "print('hi')", "Now hello."}
	for i, m := range msgs {
		mm := m.(map[string]any)
		content := mm["content"].([]any)[0].(map[string]any)
		if mm["role"] != roles[i] || content["type"] != "text" || content["text"] != texts[i] {
			t.Fatalf("message %d = %v", i, mm)
		}
	}
	stops, _ := b["stop_sequences"].([]any)
	if len(stops) != 1 || stops[0] != "```\n\n" {
		t.Fatalf("stop_sequences = %v", b["stop_sequences"])
	}
}

func TestAnthropicDefaults(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicMessageBody})
	p := newTestAnthropic(t, srv.URL)
	if _, err := p.Execute(context.Background(), Request{Model: "claude-opus-4-1", Messages: []Message{{Role: RoleUser, Content: "x"}}}); err != nil {
		t.Fatal(err)
	}
	b := srv.last(t).body
	if b["model"] != "claude-opus-4-1" || b["max_tokens"] != float64(DefaultMaxTokens) {
		t.Fatalf("model/max_tokens = %v/%v, want the request's model and the default limit", b["model"], b["max_tokens"])
	}
	if _, ok := b["system"]; ok {
		t.Fatal("an empty system prompt was sent")
	}
}

func TestAnthropicStreaming(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicStreamBody, sse: true})
	p := newTestAnthropic(t, srv.URL)
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
	want := Response{Text: "Hello!", Content: []Block{Text{Text: "Hello!"}}, Model: "claude-sonnet-4-5-20250929",
		Stop: StopEndTurn, StopReason: "end_turn", Usage: Usage{InputTokens: 25, OutputTokens: 15}}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("response = %+v, want %+v", resp, want)
	}
	if srv.last(t).body["stream"] != true {
		t.Fatalf("stream not requested: %s", srv.last(t).raw)
	}
}

func TestAnthropicLargeMaxTokensStreamsWithoutCallback(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicStreamBody, sse: true})
	p := newTestAnthropic(t, srv.URL)
	req := userRequest("Write a book")
	req.MaxTokens = 64000 // over the SDK's ten-minute estimate for a non-streaming call
	resp, err := p.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "Hello!" || srv.last(t).body["stream"] != true {
		t.Fatalf("text %q, stream %v", resp.Text, srv.last(t).body["stream"])
	}
}

func TestAnthropicTemperatureRefusedBeforeSending(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicMessageBody})
	p := newTestAnthropic(t, srv.URL)
	temp := 0.2
	req := userRequest("x")
	req.Temperature = &temp
	_, err := p.Execute(context.Background(), req)
	var tr *TemperatureRejectedError
	if !errors.As(err, &tr) || !errors.Is(err, ErrTemperatureUnsupported) {
		t.Fatalf("err = %v, want *TemperatureRejectedError", err)
	}
	if recovery.IsRetryable(err) {
		t.Fatal("a refused temperature is retryable")
	}
	if !strings.Contains(err.Error(), AnthropicAPIVersion) || !strings.Contains(err.Error(), "Temperature") {
		t.Fatalf("message does not say why: %v", err)
	}
	if n := srv.count(); n != 0 {
		t.Fatalf("the server got %d requests, want 0", n)
	}
}

func TestAnthropicInvalidRequestsRefusedBeforeSending(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicMessageBody})
	blankEnv(t)
	noModel, err := NewAnthropic(WithAPIKey(testAnthropicKey), WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	p := newTestAnthropic(t, srv.URL)
	cases := map[string]struct {
		p   *Anthropic
		req Request
	}{
		"no messages": {p, Request{}},
		"system role": {p, Request{Messages: []Message{{Role: "system", Content: "x"}}}},
		"no model":    {noModel, userRequest("x")},
		"negative":    {p, Request{MaxTokens: -1, Messages: []Message{{Role: RoleUser, Content: "x"}}}},
	}
	for name, c := range cases {
		_, err := c.p.Execute(context.Background(), c.req)
		var bad *recovery.InvalidInputError
		if !errors.As(err, &bad) || recovery.IsRetryable(err) {
			t.Errorf("%s: err = %v, want a non-retryable *recovery.InvalidInputError", name, err)
		}
	}
	if n := srv.count(); n != 0 {
		t.Fatalf("the server got %d requests, want 0", n)
	}
}

func TestAnthropicErrorsClassified(t *testing.T) {
	body := func(typ, msg string) string {
		return `{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`
	}
	cases := []struct {
		status    int
		typ       string
		header    map[string]string
		retryable bool
		after     time.Duration
		sentinel  error
	}{
		{400, "invalid_request_error", nil, false, 0, nil},
		{401, "authentication_error", nil, false, 0, ErrAuthentication},
		{403, "permission_error", nil, false, 0, ErrAuthentication},
		{404, "not_found_error", nil, false, 0, ErrNotFound},
		{408, "timeout_error", nil, true, 0, nil},
		{409, "conflict_error", nil, true, 0, nil},
		{413, "request_too_large", nil, false, 0, nil},
		{429, "rate_limit_error", map[string]string{"Retry-After": "7"}, true, 7 * time.Second, ErrRateLimited},
		{429, "rate_limit_error", map[string]string{"Retry-After-Ms": "1500", "Retry-After": "2"}, true, 1500 * time.Millisecond, ErrRateLimited},
		{500, "api_error", nil, true, 0, nil},
		{503, "api_error", nil, true, 0, nil},
		{529, "overloaded_error", map[string]string{"Retry-After": "3"}, true, 3 * time.Second, ErrOverloaded},
	}
	for _, c := range cases {
		h := map[string]string{"request-id": "req_011CSHoEeqs5C35K2UUqR7Fy"}
		for k, v := range c.header {
			h[k] = v
		}
		srv := newFakeServer(t, reply{status: c.status, header: h, body: body(c.typ, "something about "+c.typ)})
		p := newTestAnthropic(t, srv.URL)
		_, err := p.Execute(context.Background(), userRequest("x"))
		var api *APIError
		if !errors.As(err, &api) {
			t.Fatalf("%d: err = %T %v, want *APIError", c.status, err, err)
		}
		if api.Status != c.status || api.Type != c.typ || api.RequestID != "req_011CSHoEeqs5C35K2UUqR7Fy" || api.Message != "something about "+c.typ {
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

func TestAnthropicStreamErrorEvent(t *testing.T) {
	stream := "event: message_start\n" +
		`data: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}` + "\n\n" +
		"event: error\n" +
		`data: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}` + "\n\n"
	srv := newFakeServer(t, reply{body: stream, sse: true})
	p := newTestAnthropic(t, srv.URL)
	req := userRequest("x")
	req.OnDelta = func(string) {}
	_, err := p.Execute(context.Background(), req)
	var api *APIError
	if !errors.As(err, &api) || !api.InStream || api.Type != "overloaded_error" {
		t.Fatalf("err = %v, want an in-stream overloaded *APIError", err)
	}
	if !recovery.IsRetryable(err) || !errors.Is(err, ErrOverloaded) {
		t.Fatalf("an in-stream overload: retryable %v, ErrOverloaded %v", recovery.IsRetryable(err), errors.Is(err, ErrOverloaded))
	}
}

func TestAnthropicStreamCutShort(t *testing.T) {
	cut := anthropicStreamBody[:strings.Index(anthropicStreamBody, "event: message_delta")]
	srv := newFakeServer(t, reply{body: cut, sse: true})
	p := newTestAnthropic(t, srv.URL)
	req := userRequest("x")
	req.OnDelta = func(string) {}
	_, err := p.Execute(context.Background(), req)
	var ce *ConnectionError
	if !errors.As(err, &ce) || !recovery.IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable *ConnectionError", err)
	}
}

func TestAnthropicConnectionFailures(t *testing.T) {
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	p := newTestAnthropic(t, "http://"+addr)
	_, err = p.Execute(context.Background(), userRequest("x"))
	var ce *ConnectionError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConnection) || !recovery.IsRetryable(err) {
		t.Fatalf("refused: err = %v, want a retryable *ConnectionError", err)
	}

	srv := newFakeServer(t, reply{hangUp: true})
	p = newTestAnthropic(t, srv.URL)
	_, err = p.Execute(context.Background(), userRequest("x"))
	if !errors.As(err, &ce) || !recovery.IsRetryable(err) {
		t.Fatalf("hang-up: err = %v, want a retryable *ConnectionError", err)
	}
	if n := srv.count(); n != 1 {
		t.Fatalf("the server got %d requests, want 1", n)
	}
}

func TestAnthropicMalformedBody(t *testing.T) {
	srv := newFakeServer(t, reply{body: `<html>proxy login</html>`, header: map[string]string{"Content-Type": "application/json"}})
	p := newTestAnthropic(t, srv.URL)
	_, err := p.Execute(context.Background(), userRequest("x"))
	var re *ResponseError
	if !errors.As(err, &re) || recovery.IsRetryable(err) {
		t.Fatalf("err = %T %v, want a non-retryable *ResponseError", err, err)
	}
}

func TestAnthropicCallerCancel(t *testing.T) {
	release := make(chan struct{})
	srv := newFakeServer(t, reply{body: anthropicMessageBody})
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release })
	defer close(release)
	p := newTestAnthropic(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Execute(ctx, userRequest("x"))
	// Whether to retry is decided from the caller's context (see
	// recovery.IsRetryable); the error only has to say what happened.
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want an error matching context.DeadlineExceeded", err)
	}
	var ce *ConnectionError
	if errors.As(err, &ce) {
		t.Fatalf("the caller's deadline was reported as a connection failure: %v", err)
	}
}

func TestAnthropicRequestTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := newFakeServer(t, reply{body: anthropicMessageBody})
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release })
	defer close(release)
	p := newTestAnthropic(t, srv.URL, WithRequestTimeout(50*time.Millisecond))
	_, err := p.Execute(context.Background(), userRequest("x"))
	var ce *ConnectionError
	if !errors.As(err, &ce) || !recovery.IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable *ConnectionError", err)
	}
}

func TestAnthropicRecoveryRetryDoesTheRetrying(t *testing.T) {
	srv := newFakeServer(t,
		reply{status: 529, body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, header: map[string]string{"Retry-After-Ms": "5"}},
		reply{status: 500, body: `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`},
		reply{body: anthropicMessageBody})
	p := newTestAnthropic(t, srv.URL)
	r := recovery.Retry[Request, Response](p, recovery.MaxRetries(3), recovery.InitialDelay(time.Millisecond))
	resp, err := r.Execute(context.Background(), userRequest("x"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "Hello, world" || srv.count() != 3 {
		t.Fatalf("text %q after %d requests, want 3 requests", resp.Text, srv.count())
	}

	bad := newFakeServer(t, reply{status: 401, body: `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`})
	p = newTestAnthropic(t, bad.URL)
	r = recovery.Retry[Request, Response](p, recovery.MaxRetries(3), recovery.InitialDelay(time.Millisecond))
	if _, err := r.Execute(context.Background(), userRequest("x")); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("err = %v", err)
	}
	if n := bad.count(); n != 1 {
		t.Fatalf("a 401 was sent %d times, want 1", n)
	}
}

func TestAnthropicConfigFromEnvironment(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicMessageBody})
	blankEnv(t)
	if _, err := NewAnthropic(); !errors.Is(err, ErrNoAPIKey) {
		t.Fatalf("no key: err = %v, want ErrNoAPIKey", err)
	} else if !strings.Contains(err.Error(), EnvAnthropicAPIKey) {
		t.Fatalf("the error does not name the variable: %v", err)
	}
	t.Setenv(EnvAnthropicAPIKey, "sk-ant-from-env")
	t.Setenv(EnvAnthropicBaseURL, srv.URL)
	t.Setenv("ANTHROPIC_AUTH_TOKEN", "token-that-must-not-be-used")
	p, err := NewAnthropic(WithModel("claude-sonnet-4-5"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Execute(context.Background(), userRequest("x")); err != nil {
		t.Fatal(err)
	}
	if got := srv.last(t).header.Get("Authorization"); got != "Bearer sk-ant-from-env" {
		t.Fatalf("Authorization = %q", got)
	}
	// An option wins over the environment.
	p, err = NewAnthropic(WithModel("m"), WithAPIKey("sk-ant-option"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Execute(context.Background(), userRequest("x")); err != nil {
		t.Fatal(err)
	}
	if got := srv.last(t).header.Get("Authorization"); got != "Bearer sk-ant-option" {
		t.Fatalf("Authorization = %q", got)
	}
}
