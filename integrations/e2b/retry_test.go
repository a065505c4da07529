package e2b_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/integrations/e2b/e2btest"
	"github.com/ttadev/primitives/recovery"
)

// The statuses worth a new attempt are those of every HTTP client of the
// module: 408, 409, 429 and 5xx, and no other 4xx.
func TestStatusRetryability(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	ctx := context.Background()
	for status, want := range map[int]bool{408: true, 409: true, 500: true, 503: true, 400: false, 403: false, 422: false} {
		srv.Inject(e2btest.Fault{Kind: e2btest.Status, Op: e2btest.OpCreate, Status: status})
		_, err := c.CreateSandbox(ctx, e2b.CreateParams{})
		var se *e2b.ServiceError
		if !errors.As(err, &se) || se.Status != status {
			t.Fatalf("%d: err = %v, want a *ServiceError", status, err)
		}
		if recovery.IsRetryable(err) != want {
			t.Errorf("%d: retryable %v, want %v", status, recovery.IsRetryable(err), want)
		}
		srv.Inject(e2btest.Fault{Kind: e2btest.HTML, Op: e2btest.OpCreate, Status: status})
		_, err = c.CreateSandbox(ctx, e2b.CreateParams{})
		var ue *e2b.UnexpectedResponseError
		if !errors.As(err, &ue) || ue.Status != status {
			t.Fatalf("%d (HTML): err = %v, want an *UnexpectedResponseError", status, err)
		}
		if recovery.IsRetryable(err) != want {
			t.Errorf("%d (HTML): retryable %v, want %v", status, recovery.IsRetryable(err), want)
		}
	}
	if st := srv.Stats(); st.Live != 0 {
		t.Fatalf("%d sandboxes left by refused creates", st.Live)
	}
}

// A 429's delay is read as by every HTTP client of the module:
// Retry-After-Ms first, then Retry-After, capped at a day.
func TestRateLimitDelayHeaders(t *testing.T) {
	for _, c := range []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"milliseconds first", map[string]string{"Retry-After-Ms": "1500", "Retry-After": "9"}, 1500 * time.Millisecond},
		{"seconds", map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{"two days, cut to one", map[string]string{"Retry-After": "172800"}, 24 * time.Hour},
		{"none", nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			// E2B's answer to a create over the team's limit.
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte(`{"code":429,"message":"Rate limit exceeded, please try again later."}`))
			}))
			t.Cleanup(api.Close)
			cl, err := e2b.NewClient(e2b.WithAPIKey("e2b_0123456789abcdef0123456789abcdef01234567"), e2b.WithAPIURL(api.URL), e2b.WithSandboxURL(api.URL))
			if err != nil {
				t.Fatal(err)
			}
			_, err = cl.CreateSandbox(context.Background(), e2b.CreateParams{})
			var rl *e2b.RateLimitError
			if !errors.As(err, &rl) || !recovery.IsRetryable(err) {
				t.Fatalf("err = %v, want a retryable *RateLimitError", err)
			}
			if rl.After != c.want || recovery.RetryAfter(err) != c.want {
				t.Fatalf("delay %v (recovery sees %v), want %v", rl.After, recovery.RetryAfter(err), c.want)
			}
		})
	}
}
