package llm

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/recovery"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	cases := []struct {
		h    map[string]string
		want time.Duration
	}{
		{map[string]string{"Retry-After": "30"}, 30 * time.Second},
		{map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond},
		{map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{map[string]string{"Retry-After-Ms": "120", "Retry-After": "9"}, 120 * time.Millisecond},
		{map[string]string{"Retry-After-Ms": "junk", "Retry-After": "9"}, 9 * time.Second},
		{map[string]string{"Retry-After": "-4"}, 0},
		{map[string]string{"Retry-After": "soon"}, 0},
		{nil, 0},
	}
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.h {
			h.Set(k, v)
		}
		if got := parseRetryAfter(h, now); got != c.want {
			t.Errorf("%v: %v, want %v", c.h, got, c.want)
		}
	}
}

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
