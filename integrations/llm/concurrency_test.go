package llm

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestProvidersConcurrentUse(t *testing.T) {
	sink := newSink(t)
	as := newFakeServer(t, reply{body: anthropicStreamBody, sse: true})
	os := newFakeServer(t, reply{body: openAICompletionBody})
	a := newTestAnthropic(t, as.URL, sink.option())
	o := newTestOpenAI(t, os.URL, sink.option())
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b strings.Builder
			req := userRequest("x")
			var p Provider = o
			if i%2 == 0 {
				req.OnDelta = func(d string) { b.WriteString(d) }
				p = a
			}
			resp, err := p.Execute(context.Background(), req)
			if err != nil {
				errs <- err
				return
			}
			if req.OnDelta != nil && b.String() != resp.Text {
				errs <- errors.New("deltas " + b.String() + " != text " + resp.Text)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(sink.spans.Ended()); n != 32 {
		t.Fatalf("%d spans for 32 calls", n)
	}
}

func TestStreamRequestTimeout(t *testing.T) {
	// A stream that sends its first events, then stalls.
	release := make(chan struct{})
	defer close(release)
	srv := newFakeServer(t, reply{})
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		_, _ = w.Write([]byte(strings.SplitAfter(openAIStreamBody, "\n\n")[1]))
		w.(http.Flusher).Flush()
		<-release
	})
	p := newTestOpenAI(t, srv.URL, WithRequestTimeout(100*time.Millisecond))
	var got strings.Builder
	req := userRequest("x")
	req.OnDelta = func(d string) { got.WriteString(d) }
	_, err := p.Execute(context.Background(), req)
	var ce *ConnectionError
	if !errors.As(err, &ce) || !errors.Is(err, errRequestTimeout) {
		t.Fatalf("err = %v, want a *ConnectionError for the request timeout", err)
	}
	if got.String() != "Hel" {
		t.Fatalf("deltas before the stall = %q", got.String())
	}
}

func TestUsageSums(t *testing.T) {
	u := Usage{InputTokens: 1, OutputTokens: 2, CacheReadInputTokens: 3, CacheCreationInputTokens: 4}
	if s := u.Add(u); s != (Usage{InputTokens: 2, OutputTokens: 4, CacheReadInputTokens: 6, CacheCreationInputTokens: 8}) || s.Total() != 6 {
		t.Fatalf("sum = %+v total %d", s, s.Total())
	}
}
