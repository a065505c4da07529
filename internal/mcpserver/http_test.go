package mcpserver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bearer adds an Authorization header to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func httpConnect(t testing.TB, url, token string, progress *progressLog) (*mcp.ClientSession, error) {
	t.Helper()
	hc := &http.Client{Transport: http.DefaultTransport}
	if token != "" {
		hc.Transport = bearer{token: token, next: http.DefaultTransport}
	}
	tr := &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, MaxRetries: -1}
	cs, err := newClient(progress).Connect(context.Background(), tr, nil)
	if err == nil {
		t.Cleanup(func() { cs.Close() })
	}
	return cs, err
}

func TestHTTPTransport(t *testing.T) {
	srv := newServer(t)
	hs := httptest.NewServer(srv.HTTPHandler("s3cret-token"))
	defer hs.Close()

	if _, err := httpConnect(t, hs.URL, "", nil); err == nil {
		t.Fatal("connected without the bearer token")
	}
	if _, err := httpConnect(t, hs.URL, "wrong", nil); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("wrong token: %v", err)
	}

	var progress progressLog
	a, err := httpConnect(t, hs.URL, "s3cret-token", &progress)
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's client offers the newest, sessionless protocol revision;
	// the server answers with a revision that has sessions.
	if a.ID() == "" || a.InitializeResult().ProtocolVersion >= "2026-07-28" {
		t.Fatalf("session id %q, protocol %s", a.ID(), a.InitializeResult().ProtocolVersion)
	}
	b, err := httpConnect(t, hs.URL, "s3cret-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	tools, err := a.ListTools(context.Background(), nil)
	if err != nil || len(tools.Tools) != 4 || tools.Tools[0].OutputSchema == nil {
		t.Fatalf("tools: %v %v", tools, err)
	}
	run(t, a, "v = 'a'")
	run(t, b, "v = 'b'")
	if got := run(t, a, "v").Result; got != "'a'" {
		t.Fatalf("a sees %s", got)
	}
	if got := run(t, b, "v").Result; got != "'b'" {
		t.Fatalf("b sees %s", got)
	}

	params := &mcp.CallToolParams{Name: ToolRunCode, Arguments: map[string]any{"code": tickCell}}
	params.SetProgressToken("http-1")
	res, err := a.CallTool(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	out := decode[RunCodeOutput](t, res)
	if text, n, _ := progress.text(); n < 2 || text != out.Stdout {
		t.Fatalf("progress over HTTP: %d notifications %q, stdout %q", n, text, out.Stdout)
	}

	res = call(t, a, ToolRunCode, map[string]any{"code": pngCell})
	if img, ok := res.Content[1].(*mcp.ImageContent); !ok || img.MIMEType != "image/png" {
		t.Fatalf("image over HTTP: %T", res.Content[1])
	}
	decode[WriteFileOutput](t, call(t, a, ToolWriteFile, map[string]any{"path": "x.txt", "content": "over http"}))
	if r := decode[ReadFileOutput](t, call(t, a, ToolReadFile, map[string]any{"path": "x.txt"})); r.Content != "over http" {
		t.Fatalf("file over HTTP: %+v", r)
	}
	expectToolError(t, b, ToolRunCode, map[string]any{"code": ""})

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	if _, err := b.CallTool(ctx, &mcp.CallToolParams{Name: ToolRunCode, Arguments: map[string]any{"code": "import time\ntime.sleep(30)"}}); err == nil {
		t.Fatal("cancelled call succeeded")
	}
	if got := run(t, b, "1 + 1").Result; got != "2" {
		t.Fatalf("b after cancellation: %s", got)
	}

	// An unknown session is refused with 404, and the server carries on.
	req, _ := http.NewRequest(http.MethodPost, hs.URL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Authorization", "Bearer s3cret-token")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", "no-such-session")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown session: HTTP %d", resp.StatusCode)
	}

	// Closing the clients (HTTP DELETE) closes their sandboxes.
	a.Close()
	b.Close()
	eventually(t, 10*time.Second, "every sandbox to close", func() bool {
		st := srv.Stats()
		return st.LiveSessions == 0 && st.SandboxesCreated == st.SandboxesClosed
	})
}

func TestCheckListenAddr(t *testing.T) {
	for _, c := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8931", "", true},
		{"localhost:0", "", true},
		{"[::1]:8931", "", true},
		{":8931", "", false},
		{"0.0.0.0:8931", "", false},
		{"192.168.1.5:8931", "", false},
		{"0.0.0.0:8931", "tok", true},
		{"no-port", "", false},
	} {
		err := CheckListenAddr(c.addr, c.token)
		if (err == nil) != c.ok {
			t.Errorf("CheckListenAddr(%q, token=%v) = %v", c.addr, c.token != "", err)
		}
	}
}

// TestHTTPFiftySessions runs 50 concurrent MCP sessions over streamable
// HTTP, each running 100 cells on its own sandbox, and checks that every
// cell answered correctly and that every sandbox created was closed.
func TestHTTPFiftySessions(t *testing.T) {
	if testing.Short() {
		t.Skip("testing.Short: 50 sessions x 100 cells")
	}
	const sessions, cells = 50, 100
	base := runtime.NumGoroutine()
	srv := newServer(t, WithMaxSessions(sessions))
	hs := httptest.NewServer(srv.HTTPHandler(""))
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for i := 0; i < sessions; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- fiftySession(t, hs.URL, i, cells)
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	var failed int
	for err := range errs {
		if err != nil {
			failed++
			t.Error(err)
		}
	}
	eventually(t, 30*time.Second, "every sandbox to close", func() bool {
		st := srv.Stats()
		return st.LiveSessions == 0 && st.SandboxesClosed == st.SandboxesCreated
	})
	st := srv.Stats()
	t.Logf("%d sessions x %d cells over HTTP in %s (%.0f cells/s); sandboxes created %d, closed %d; failed sessions %d",
		sessions, cells, elapsed.Round(time.Millisecond), float64(sessions*cells)/elapsed.Seconds(), st.SandboxesCreated, st.SandboxesClosed, failed)
	if st.SandboxesCreated != sessions {
		t.Fatalf("created %d sandboxes for %d sessions", st.SandboxesCreated, sessions)
	}
	hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	goroutinesBack(t, base)
}

func fiftySession(t *testing.T, url string, i, cells int) error {
	tr := &mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1}
	cs, err := newClient(nil).Connect(context.Background(), tr, nil)
	if err != nil {
		return fmt.Errorf("session %d: connect: %w", i, err)
	}
	defer cs.Close()
	for j := 0; j < cells; j++ {
		code := fmt.Sprintf("n = %d if %d == 0 else n + 1\nn * 1000 + %d", i, j, i)
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: ToolRunCode, Arguments: map[string]any{"code": code}})
		if err != nil {
			return fmt.Errorf("session %d cell %d: %w", i, j, err)
		}
		if res.IsError {
			return fmt.Errorf("session %d cell %d: %s", i, j, resultText(res))
		}
		want := fmt.Sprintf(`"result":"%d"`, (i+j)*1000+i)
		if !strings.Contains(resultText(res), want) {
			return fmt.Errorf("session %d cell %d: %s, want %s", i, j, resultText(res), want)
		}
	}
	return nil
}
