package llm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/recovery"
)

func TestStreamingCallRefusedBeforeTheStream(t *testing.T) {
	a := newFakeServer(t, reply{status: 429, header: map[string]string{"Retry-After": "4"}, body: `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`})
	o := newFakeServer(t, reply{status: 503, body: `{"error":{"message":"The engine is currently overloaded, please try again later","type":"server_error","param":null,"code":null}}`})
	for _, p := range []Provider{newTestAnthropic(t, a.URL), newTestOpenAI(t, o.URL)} {
		req := userRequest("x")
		called := false
		req.OnDelta = func(string) { called = true }
		_, err := p.Execute(context.Background(), req)
		var api *APIError
		if !errors.As(err, &api) || api.InStream || !recovery.IsRetryable(err) || called {
			t.Fatalf("%s: err = %v (delta called %v), want a retryable HTTP *APIError", p.Name(), err, called)
		}
	}
	if recovery.RetryAfter(func() error {
		_, err := newTestAnthropic(t, a.URL).Execute(context.Background(), Request{Messages: []Message{{Role: RoleUser, Content: "x"}}, OnDelta: func(string) {}})
		return err
	}()) != 4*time.Second {
		t.Fatal("Retry-After lost on a streaming call")
	}
}

func TestPasswordInBaseURLNotInErrors(t *testing.T) {
	p := newTestOpenAI(t, "http://user:pa55word@127.0.0.1:1/v1/")
	_, err := p.Execute(context.Background(), userRequest("x"))
	if err == nil || strings.Contains(formatted(err), "pa55word") {
		t.Fatalf("err = %v", err)
	}
}

func TestOutOfOrderStreamIsAResponseError(t *testing.T) {
	// A text delta for block 0 before that block was started: the SDK's
	// accumulator refuses it, and so must the provider, without calling it
	// a connection failure.
	body := "event: message_start\n" +
		`data: {"type":"message_start","message":{"id":"msg_01Order","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}` + "\n\n" +
		"event: content_block_delta\n" +
		`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}` + "\n\n" +
		"event: content_block_start\n" +
		`data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
		"event: content_block_stop\n" +
		`data: {"type":"content_block_stop","index":0}` + "\n\n" +
		"event: message_delta\n" +
		`data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}` + "\n\n" +
		"event: message_stop\n" +
		`data: {"type":"message_stop"}` + "\n\n"
	srv := newFakeServer(t, reply{sse: true, body: body})
	p := newTestAnthropic(t, srv.URL)
	req := userRequest("x")
	req.OnDelta = func(string) {}
	_, err := p.Execute(context.Background(), req)
	var re *ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v (%T), want a *ResponseError", err, err)
	}
	if errors.Is(err, ErrConnection) || recovery.IsRetryable(err) {
		t.Fatalf("err = %v: retryable %v, matches ErrConnection %v; want neither", err, recovery.IsRetryable(err), errors.Is(err, ErrConnection))
	}
	if !strings.Contains(err.Error(), "index 0") {
		t.Fatalf("err = %v, want the accumulator's reason", err)
	}
	// Retry does not send it again.
	r := recovery.Retry[Request, Response](p, recovery.MaxRetries(3), recovery.InitialDelay(time.Millisecond))
	n := srv.count()
	if _, err := r.Execute(context.Background(), req); !errors.As(err, &re) {
		t.Fatalf("through Retry: err = %v", err)
	}
	if got := srv.count() - n; got != 1 {
		t.Fatalf("sent %d times through Retry, want 1", got)
	}
}
