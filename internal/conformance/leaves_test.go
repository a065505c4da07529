package conformance_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/integrations/llm"
)

// The leaf primitives of the module (those that call a service rather
// than wrap a step) keep the context invariants too: a done context sends
// nothing and returns its cause; a caller's deadline passing mid-call
// ends the call with an error matching it, after one request. Each leaf
// talks to a loopback server that speaks its API's wire format.

const (
	openAIReply = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
	anthropicReply = `{"id":"msg_1","type":"message","role":"assistant","model":"m",` +
		`"content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,` +
		`"usage":{"input_tokens":1,"output_tokens":1}}`
)

type leaf struct {
	name  string
	reply string
	build func(url string) (primitives.Primitive[llm.Request, llm.Response], error)
}

func leaves() []leaf {
	return []leaf{
		{"llm.OpenAI", openAIReply, func(url string) (primitives.Primitive[llm.Request, llm.Response], error) {
			return llm.NewOpenAI(llm.WithBaseURL(url), llm.WithAPIKey("sk-test"), llm.WithModel("m"))
		}},
		{"llm.Anthropic", anthropicReply, func(url string) (primitives.Primitive[llm.Request, llm.Response], error) {
			return llm.NewAnthropic(llm.WithBaseURL(url), llm.WithAPIKey("sk-ant-test"), llm.WithModel("m"))
		}},
	}
}

func TestLeaves(t *testing.T) {
	for _, l := range leaves() {
		t.Run(l.name, func(t *testing.T) {
			var requests atomic.Int32
			delay := make(chan time.Duration, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				select {
				case d := <-delay:
					select {
					case <-time.After(d):
					case <-r.Context().Done():
						return
					}
				default:
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(l.reply))
			}))
			defer srv.Close()
			defer srv.CloseClientConnections() // a handler still waiting ends now
			p, err := l.build(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			req := llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hello"}}}

			if resp, err := p.Execute(context.Background(), req); err != nil || resp.Text != "hi" || requests.Load() != 1 {
				t.Fatalf("control: %+v, %v after %d requests", resp, err, requests.Load())
			}

			t.Run("context already cancelled", func(t *testing.T) {
				requests.Store(0)
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				if _, err := p.Execute(ctx, req); !errors.Is(err, context.Canceled) || requests.Load() != 0 {
					t.Fatalf("got %v after %d requests; want context.Canceled and nothing sent", err, requests.Load())
				}
			})
			t.Run("cancelled with a cause", func(t *testing.T) {
				requests.Store(0)
				ctx, cancel := context.WithCancelCause(context.Background())
				cancel(errCause)
				if _, err := p.Execute(ctx, req); !errors.Is(err, errCause) || requests.Load() != 0 {
					t.Fatalf("got %v after %d requests; want the cause and nothing sent", err, requests.Load())
				}
			})
			t.Run("caller deadline passes mid-call", func(t *testing.T) {
				requests.Store(0)
				delay <- 500 * time.Millisecond
				ctx, cancel := context.WithTimeout(context.Background(), callerLimit)
				defer cancel()
				start := time.Now()
				_, err := p.Execute(ctx, req)
				if !errors.Is(err, context.DeadlineExceeded) || requests.Load() != 1 {
					t.Fatalf("got %v after %d requests; want context.DeadlineExceeded after one", err, requests.Load())
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Fatalf("returned after %s", d)
				}
			})
		})
	}
}
