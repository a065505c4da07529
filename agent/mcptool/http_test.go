package mcptool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/agent/mcptool"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/recovery"
)

const token = "s3cr3t-token-value"

// httpServer serves ts over streamable HTTP with the SDK's handler,
// behind a bearer token. unavailable makes the next tools/call requests
// get 503 before reaching the SDK.
type httpServer struct {
	*httptest.Server
	ts          *toolServer
	unavailable atomic.Int32
}

func newHTTPServer(t *testing.T) *httpServer {
	ts := newToolServer(t, nil)
	h := &httpServer{ts: ts}
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return ts.srv }, nil)
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && h.unavailable.Load() > 0 {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte(`"tools/call"`)) {
				h.unavailable.Add(-1)
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
		}
		mcpHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *httpServer) connect(t *testing.T) *mcptool.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := mcptool.Connect(ctx, mcptool.HTTP{URL: h.URL, Header: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestHTTP(t *testing.T) {
	h := newHTTPServer(t)
	c := h.connect(t)
	if len(c.Tools()) != 10 {
		t.Fatalf("tools = %v", names(c.Tools()))
	}
	blocks, err := call(t, find(t, c, "echo"), `{"msg":"over http"}`)
	if err != nil || text(blocks) != "echo: over http" {
		t.Fatalf("echo = %v, %v", blocks, err)
	}
	blocks, err = call(t, find(t, c, "picture"), `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if img, ok := blocks[1].(llm.Image); !ok || !bytes.Equal(img.Data, h.ts.png) {
		t.Errorf("image over HTTP = %#v", blocks[1])
	}
	_, err = call(t, find(t, c, "fail"), `{}`)
	toolError(t, err)

	// Cancellation travels as a POST of notifications/cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := find(t, c, "slow").Call(ctx, json.RawMessage(`{}`))
		done <- err
	}()
	<-h.ts.slowStarted
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %v", err)
	}
	select {
	case <-h.ts.slowCancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the server's handler was not cancelled")
	}
}

func TestHTTPUnauthorized(t *testing.T) {
	h := newHTTPServer(t)
	_, err := mcptool.Connect(context.Background(), mcptool.HTTP{URL: h.URL, Header: http.Header{"Authorization": {"Bearer wrong-" + token}}})
	if !errors.Is(err, mcptool.ErrUnauthorized) || !errors.Is(err, mcptool.ErrConnection) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	if recovery.IsRetryable(err) {
		t.Error("refused credentials are retryable")
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("the error shows the token: %v", err)
	}
}

func TestHTTPSessionExpired(t *testing.T) {
	h := newHTTPServer(t)
	c := h.connect(t)
	echo := find(t, c, "echo")
	if _, err := call(t, echo, `{"msg":"1"}`); err != nil {
		t.Fatal(err)
	}
	// The server forgets the session (an idle timeout, a restart): its
	// next request gets 404, and the call goes on a new session.
	for ss := range h.ts.srv.Sessions() {
		_ = ss.Close()
	}
	blocks, err := call(t, echo, `{"msg":"2"}`)
	if err != nil || text(blocks) != "echo: 2" {
		t.Fatalf("call after the session expired = %v, %v", blocks, err)
	}
	if n := h.ts.count("initialize"); n != 2 {
		t.Errorf("%d initialize requests, want 2", n)
	}
}

func TestHTTPUnavailable(t *testing.T) {
	h := newHTTPServer(t)
	c := h.connect(t)
	echo := find(t, c, "echo")
	h.unavailable.Store(1)
	_, err := call(t, echo, `{"msg":"1"}`)
	ce, ok := errors.AsType[*mcptool.ConnectionError](err)
	if !ok || ce.InFlight || !recovery.IsRetryable(err) {
		t.Fatalf("503: %v (%T), want a retryable ConnectionError not in flight", err, err)
	}
	// The session survives a transient status.
	blocks, err := call(t, echo, `{"msg":"2"}`)
	if err != nil || text(blocks) != "echo: 2" {
		t.Fatalf("call after the 503 = %v, %v", blocks, err)
	}
	if n := h.ts.count("initialize"); n != 1 {
		t.Errorf("%d initialize requests, want 1", n)
	}
}
