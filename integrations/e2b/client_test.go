package e2b_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// seen records what reached a server.
type seen struct {
	mu   sync.Mutex
	reqs []seenRequest
}

type seenRequest struct {
	method, host, path string
	header             http.Header
	body               []byte
}

func (s *seen) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, seenRequest{r.Method, r.Host, r.URL.Path, r.Header.Clone(), body})
		s.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		next.ServeHTTP(w, r)
	})
}

func (s *seen) find(method, path string) seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.reqs {
		if r.method == method && r.path == path {
			return r
		}
	}
	return seenRequest{}
}

// TestWireFormatAndHostRouting serves the fake over TLS and resolves every
// host name to it, so the client uses E2B's real URLs
// (https://api.{domain}, https://49999-{id}.{domain}); the requests are
// checked field by field.
func TestWireFormatAndHostRouting(t *testing.T) {
	fake := newFake(t)
	rec := &seen{}
	ts := httptest.NewTLSServer(rec.wrap(fake.Handler()))
	defer ts.Close()
	addr := ts.Listener.Addr().String()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	t.Setenv(e2b.EnvAPIURL, "")
	t.Setenv(e2b.EnvSandboxURL, "")
	c, err := e2b.NewClient(e2b.WithAPIKey(fake.APIKey()), e2b.WithDomain("e2b.test"),
		e2b.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 30*time.Second)
	sb, err := c.CreateSandbox(ctx, e2b.CreateParams{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Kill(context.Background())
	if !sb.Secure() || len(sb.ID) != 20 {
		t.Fatalf("sandbox %v", sb)
	}
	create := rec.find("POST", "/sandboxes")
	if create.host != "api.e2b.test" || create.header.Get("X-API-Key") != fake.APIKey() ||
		create.header.Get("Content-Type") != "application/json" || !strings.HasPrefix(create.header.Get("User-Agent"), "ttadev") {
		t.Fatalf("create request %+v", create)
	}
	var body map[string]any
	if err := json.Unmarshal(create.body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"templateID": "code-interpreter-v1", "timeout": 300.0, "metadata": map[string]any{},
		"envVars": map[string]any{}, "secure": true, "allow_internet_access": true}
	if !jsonEqual(body, want) {
		t.Fatalf("create body %s", create.body)
	}

	ex, err := sb.Execute(ctx, "print('hi')", e2b.ExecuteOptions{})
	if err != nil || ex.StdoutText() != "hi\n" {
		t.Fatalf("%v %+v", err, ex)
	}
	execReq := rec.find("POST", "/execute")
	if execReq.host != "49999-"+sb.ID+".e2b.test" || execReq.header.Get("E2b-Sandbox-Id") != sb.ID ||
		execReq.header.Get("E2b-Sandbox-Port") != "49999" || execReq.header.Get("X-Access-Token") == "" ||
		execReq.header.Get("X-API-Key") != "" {
		t.Fatalf("execute request %+v", execReq)
	}
	if string(execReq.body) != `{"code":"print('hi')","context_id":null,"language":null,"env_vars":null}` {
		t.Fatalf("execute body %s", execReq.body)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestControlPlane(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	ctx := ctxTimeout(t, 30*time.Second)
	var ids []string
	for i := 0; i < 5; i++ {
		sb, err := c.CreateSandbox(ctx, e2b.CreateParams{Metadata: map[string]string{"n": string(rune('a' + i)), "suite": "cp"},
			Lifetime: 90 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sb.ID)
	}
	d, err := c.Get(ctx, ids[0])
	if err != nil || d.SandboxID != ids[0] || d.State != "running" || d.Metadata["n"] != "a" || d.EndAt.Sub(d.StartedAt) < 89*time.Second {
		t.Fatalf("%v %+v", err, d)
	}
	page, err := c.List(ctx, e2b.ListParams{Limit: 2})
	if err != nil || len(page.Sandboxes) != 2 || page.NextToken == "" {
		t.Fatalf("%v %+v", err, page)
	}
	var all []string
	for s, err := range c.ListAll(ctx, e2b.ListParams{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, s.SandboxID)
	}
	if len(all) != 5 {
		t.Fatalf("ListAll gave %d", len(all))
	}
	page, err = c.List(ctx, e2b.ListParams{Metadata: map[string]string{"n": "c"}})
	if err != nil || len(page.Sandboxes) != 1 || page.Sandboxes[0].SandboxID != ids[2] {
		t.Fatalf("metadata filter: %v %+v", err, page)
	}
	if err := c.SetTimeout(ctx, ids[0], 2*time.Hour); err == nil {
		t.Fatal("a lifetime above the plan's maximum was accepted")
	} else if err := c.SetTimeout(ctx, ids[0], 50*time.Minute); err != nil {
		t.Fatal(err)
	}
	if d, _ := c.Get(ctx, ids[0]); time.Until(d.EndAt) < 49*time.Minute {
		t.Fatalf("timeout not applied: %v", d.EndAt)
	}
	if err := c.SetTimeout(ctx, ids[0], -time.Second); !errors.As(err, new(*recovery.InvalidInputError)) {
		t.Fatalf("negative timeout: %v", err)
	}
	sb, err := c.Connect(ctx, ids[1], 0)
	if err != nil || sb.ID != ids[1] || !sb.Secure() {
		t.Fatalf("connect: %v %v", err, sb)
	}
	for _, id := range ids {
		if ok, err := c.Kill(ctx, id); !ok || err != nil {
			t.Fatalf("kill %s: %v %v", id, ok, err)
		}
	}
	// Killing again is not an error: false, as in the SDK.
	if ok, err := c.Kill(ctx, ids[0]); ok || err != nil {
		t.Fatalf("second kill: %v %v", ok, err)
	}
	_, err = c.Get(ctx, ids[0])
	var nf *e2b.NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, e2b.ErrSandboxNotFound) || recovery.IsRetryable(err) {
		t.Fatalf("get after kill: %v", err)
	}
	if _, err := c.Connect(ctx, ids[0], time.Minute); !errors.Is(err, e2b.ErrSandboxNotFound) {
		t.Fatalf("connect after kill: %v", err)
	}
	if st := srv.Stats(); st.Creates != 5 || st.Kills != 5 || st.Live != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestExecuteFoldsRealPythonOutput(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	ctx := ctxTimeout(t, 30*time.Second)
	var streamed []string
	ex, err := sb.Execute(ctx, "import sys\nprint('out')\nprint('err', file=sys.stderr)\nx = 21\nx * 2", e2b.ExecuteOptions{
		RunOptions: sandbox.RunOptions{
			OnStdout: func(m sandbox.OutputMessage) { streamed = append(streamed, "o:"+m.Text) },
			OnStderr: func(m sandbox.OutputMessage) { streamed = append(streamed, "e:"+m.Text) },
			OnResult: func(r sandbox.Result) { streamed = append(streamed, "r:"+r.Text) },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ex.StdoutText() != "out\n" || ex.StderrText() != "err\n" || ex.Text() != "42" || ex.Error != nil || ex.ExecutionCount != 1 {
		t.Fatalf("%+v", ex)
	}
	// stdout and stderr are separate pipes: only the order within each
	// stream, and the result after both, are defined.
	if len(streamed) != 3 || streamed[2] != "r:42" || !contains(streamed, "o:out\n") || !contains(streamed, "e:err\n") {
		t.Fatalf("callbacks %q", streamed)
	}
	// State persists in the default context; a user error is a result.
	var onErr *sandbox.ExecutionError
	ex, err = sb.Execute(ctx, "print(x)\n1/0", e2b.ExecuteOptions{RunOptions: sandbox.RunOptions{
		OnError: func(e sandbox.ExecutionError) { onErr = &e }}})
	if err != nil || ex.StdoutText() != "21\n" || ex.Error == nil || ex.Error.Name != "ZeroDivisionError" || onErr == nil || ex.ExecutionCount != 2 {
		t.Fatalf("%v %+v", err, ex)
	}
	// Env vars apply to one execution only.
	ex, err = sb.Execute(ctx, "import os\nprint(os.environ.get('ONLY_NOW'))", e2b.ExecuteOptions{RunOptions: sandbox.RunOptions{Env: map[string]string{"ONLY_NOW": "yes"}}})
	if err != nil || ex.StdoutText() != "yes\n" {
		t.Fatalf("%v %+v", err, ex)
	}
	ex, err = sb.Execute(ctx, "import os\nprint(os.environ.get('ONLY_NOW'))", e2b.ExecuteOptions{})
	if err != nil || ex.StdoutText() != "None\n" {
		t.Fatalf("%v %+v", err, ex)
	}
}

func TestCallbacksFireAsLinesArrive(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	first := make(chan time.Time, 1)
	ex, err := sb.Execute(ctxTimeout(t, 30*time.Second), "import time\nprint('a', flush=True)\ntime.sleep(1)\nprint('b')",
		e2b.ExecuteOptions{RunOptions: sandbox.RunOptions{OnStdout: func(m sandbox.OutputMessage) {
			if m.Text == "a\n" {
				first <- time.Now()
			}
		}}})
	done := time.Now()
	if err != nil || ex.StdoutText() != "a\nb\n" {
		t.Fatalf("%v %+v", err, ex)
	}
	// "a" was delivered while the code still slept, not at the end.
	if gap := done.Sub(<-first); gap < 500*time.Millisecond {
		t.Fatalf("the first line was delivered only %s before the end", gap)
	}
}

func TestContextsAPI(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	ctx := ctxTimeout(t, 30*time.Second)
	if err := sb.Health(ctx); err != nil {
		t.Fatal(err)
	}
	cc, err := sb.CreateContext(ctx, e2b.ContextParams{Language: "Python"})
	if err != nil || cc.Language != "python" || cc.Cwd != "/home/user" {
		t.Fatalf("%v %+v", err, cc)
	}
	run := func(code string) *sandbox.Execution {
		t.Helper()
		ex, err := sb.Execute(ctx, code, e2b.ExecuteOptions{ContextID: cc.ID})
		if err != nil {
			t.Fatal(err)
		}
		return ex
	}
	run("v = 'kept'")
	if ex := run("v"); ex.Text() != "kept" {
		t.Fatalf("%+v", ex)
	}
	// The default context does not see it.
	ex, err := sb.Execute(ctx, "v", e2b.ExecuteOptions{})
	if err != nil || ex.Error == nil || ex.Error.Name != "NameError" {
		t.Fatalf("%v %+v", err, ex)
	}
	// The default python and javascript contexts, and this one.
	list, err := sb.ListContexts(ctx)
	if err != nil || len(list) != 3 || list[0].Language != "python" || list[1].Language != "javascript" || list[2].ID != cc.ID {
		t.Fatalf("%v %+v", err, list)
	}
	if err := sb.RestartContext(ctx, cc.ID); err != nil {
		t.Fatal(err)
	}
	if ex := run("v"); ex.Error == nil || ex.Error.Name != "NameError" {
		t.Fatalf("state survived a restart: %+v", ex)
	}
	if err := sb.RemoveContext(ctx, cc.ID); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		sb.RemoveContext(ctx, cc.ID),
		sb.RestartContext(ctx, cc.ID),
		func() error { _, err := sb.Execute(ctx, "1", e2b.ExecuteOptions{ContextID: cc.ID}); return err }(),
	} {
		var nf *e2b.NotFoundError
		if !errors.As(err, &nf) || nf.Resource != "context" || !strings.Contains(nf.Message, "not found") {
			t.Fatalf("unknown context: %v", err)
		}
	}
}

func TestBadInputIsRefusedBeforeSending(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	before := srv.Stats().Requests
	ctx := context.Background()
	for _, tc := range []struct {
		code string
		opts e2b.ExecuteOptions
	}{
		{"", e2b.ExecuteOptions{}},
		{"  \n\t", e2b.ExecuteOptions{}},
		{"print(1)", e2b.ExecuteOptions{RunOptions: sandbox.RunOptions{Timeout: -time.Second}}},
		{"print(1)", e2b.ExecuteOptions{ContextID: "x", RunOptions: sandbox.RunOptions{Language: "python"}}},
	} {
		_, err := sb.Execute(ctx, tc.code, tc.opts)
		var bad *recovery.InvalidInputError
		if !errors.As(err, &bad) || recovery.IsRetryable(err) {
			t.Errorf("%q %+v: err = %v", tc.code, tc.opts, err)
		}
	}
	if _, err := c.CreateSandbox(ctx, e2b.CreateParams{Lifetime: -time.Second}); !errors.As(err, new(*recovery.InvalidInputError)) {
		t.Errorf("negative lifetime: %v", err)
	}
	if n := srv.Stats().Requests; n != before {
		t.Fatalf("%d requests were sent for bad input", n-before)
	}
}

// TestFakeValidatesLikeTheService sends raw requests the client never
// sends, to check the fake's validation that users' tests rely on.
func TestFakeValidatesLikeTheService(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	post := func(path, body string, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL()+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := srv.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ctl := map[string]string{"X-API-Key": srv.APIKey()}
	if st, _ := post("/sandboxes", `{"timeout":10}`, ctl); st != 400 {
		t.Errorf("missing templateID: %d", st)
	}
	if st, b := post("/sandboxes", `{"templateID":"code-interpreter-v1","timeout":0}`, ctl); st != 400 || !strings.Contains(b, "Timeout must be greater than 0") {
		t.Errorf("zero timeout: %d %s", st, b)
	}
	if st, _ := post("/sandboxes", `{"templateID":"x"}`, map[string]string{"X-API-Key": "e2b_00"}); st != 401 {
		t.Errorf("wrong key: %d", st)
	}
	// The code interpreter checks no access token (envd does).
	dp := map[string]string{"E2b-Sandbox-Id": sb.ID, "E2b-Sandbox-Port": "49999"}
	if st, b := post("/execute", `{"code":"1"}`, dp); st != 200 || !strings.Contains(b, "end_of_execution") {
		t.Errorf("no access token: %d %s", st, b)
	}
	d, err := c.Get(context.Background(), sb.ID)
	if err != nil {
		t.Fatal(err)
	}
	_ = d
	// The access token is only known to the client; reach it through a
	// second, insecure sandbox.
	insecure := newClient(t, srv, e2b.WithSecure(false))
	isb := createSandbox(t, insecure)
	dp = map[string]string{"E2b-Sandbox-Id": isb.ID, "E2b-Sandbox-Port": "49999"}
	if st, b := post("/execute", `{"language":"python"}`, dp); st != 422 || !strings.Contains(b, "code") {
		t.Errorf("missing code: %d %s", st, b)
	}
	for _, body := range []string{`{"code":null}`, `{"code":1}`} {
		if st, b := post("/execute", body, dp); st != 422 || !strings.Contains(b, "code") {
			t.Errorf("%s: code is not a string: %d %s", body, st, b)
		}
	}
	if st, b := post("/execute", `{"code":"1","context_id":"c","language":"python"}`, dp); st != 400 || b != "Only one of context_id or language can be provided" {
		t.Errorf("both context and language: %d %s", st, b)
	}
	if st, b := post("/execute", `{"code":"1","context_id":"nope"}`, dp); st != 404 || b != "Context nope not found" {
		t.Errorf("unknown context: %d %s", st, b)
	}
	dp["E2b-Sandbox-Port"] = "8080"
	if st, b := post("/execute", `{"code":"1"}`, dp); st != 502 || !strings.Contains(b, "port is not open") {
		t.Errorf("closed port: %d %s", st, b)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
