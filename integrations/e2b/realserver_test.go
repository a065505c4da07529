package e2b_test

// Tests of how the client handles what E2B's own code-interpreter server
// answers, and of the fake answering as that server does.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/integrations/e2b/e2btest"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// rawExecute posts body to the fake's /execute of sandboxID (no access
// token) and returns the response and its NDJSON lines.
func rawExecute(t *testing.T, srv *e2btest.Server, sandboxID, body string, hdr map[string]string) (*http.Response, []map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL()+"/execute", strings.NewReader(body))
	req.Header.Set("E2b-Sandbox-Id", sandboxID)
	req.Header.Set("E2b-Sandbox-Port", "49999")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			m = map[string]any{"raw": sc.Text()}
		}
		lines = append(lines, m)
	}
	return resp, lines
}

func TestSyntheticErrorsAreStateLost(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	ctx := ctxTimeout(t, 30*time.Second)
	for _, tc := range []struct{ inject, name string }{
		{"ContextRestarting", "ContextRestarting"},
		{"WebSocketError", "WebSocketError"},
	} {
		if _, err := sb.Execute(ctx, "x = 1", e2b.ExecuteOptions{}); err != nil {
			t.Fatal(err)
		}
		srv.Inject(e2btest.Fault{Kind: e2btest.SyntheticError, Op: e2btest.OpExecute, ErrorName: tc.inject})
		ex, err := sb.Execute(ctx, "x", e2b.ExecuteOptions{})
		var sl *e2b.StateLostError
		if ex != nil || !errors.As(err, &sl) || sl.Name != tc.name || sl.SandboxID != sb.ID || sl.Partial == nil {
			t.Fatalf("%s: exec %+v, err = %v", tc.inject, ex, err)
		}
		if !errors.Is(err, e2b.ErrStateLost) || !errors.Is(err, sandbox.ErrCrashed) || !recovery.IsRetryable(err) ||
			!strings.Contains(err.Error(), "state") {
			t.Fatalf("%s: classification of %v", tc.inject, err)
		}
		// The fake really lost the state, as the server does.
		if ex, err := sb.Execute(ctx, "x", e2b.ExecuteOptions{}); err != nil || ex.Error == nil || ex.Error.Name != "NameError" {
			t.Fatalf("%s: after: %v %+v", tc.inject, err, ex)
		}
	}
	// ExecutionAborted loses no state: an interrupted execution.
	srv.Inject(e2btest.Fault{Kind: e2btest.SyntheticError, Op: e2btest.OpExecute, ErrorName: "ExecutionAborted"})
	_, err := sb.Execute(ctx, "1", e2b.ExecuteOptions{})
	var ie *e2b.InterruptedExecutionError
	if !errors.As(err, &ie) || ie.Name != "ExecutionAborted" || errors.Is(err, e2b.ErrStateLost) {
		t.Fatalf("aborted: %v", err)
	}
}

func TestFakeSendsSyntheticErrorsAsTheServerDoes(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv, e2b.WithSecure(false))
	sb := createSandbox(t, c)
	srv.Inject(e2btest.Fault{Kind: e2btest.SyntheticError, Op: e2btest.OpExecute, ErrorName: "WebSocketError"})
	_, lines := rawExecute(t, srv, sb.ID, `{"code":"1"}`, nil)
	var names []string
	for _, l := range lines {
		if l["type"] == "error" {
			names = append(names, l["name"].(string))
		}
	}
	if len(names) != 2 || names[0] != "WebSocketError" || names[1] != "UnexpectedEndOfExecution" ||
		lines[len(lines)-1]["type"] != "end_of_execution" {
		t.Fatalf("lines %v", lines)
	}
}

// TestSessionPoolDoesNotReuseALostState: in session mode, a lost kernel
// is an error and the next call runs on another sandbox, not on one
// whose variables silently vanished.
func TestSessionPoolDoesNotReuseALostState(t *testing.T) {
	srv := newFake(t)
	exec, err := e2b.NewCodeExecutionPrimitive(append(srv.PrimitiveOptions(),
		e2b.WithCodeOptions(sandbox.SessionMode(), sandbox.MaxSandboxes(1)))...)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Close(context.Background())
	ctx := ctxTimeout(t, 30*time.Second)
	first, err := exec.Execute(ctx, sandbox.CodeInput{Code: "x = 41"})
	if err != nil || !first.Success {
		t.Fatalf("%v %+v", err, first)
	}
	srv.Inject(e2btest.Fault{Kind: e2btest.SyntheticError, Op: e2btest.OpExecute, ErrorName: "ContextRestarting"})
	_, err = exec.Execute(ctx, sandbox.CodeInput{Code: "x + 1"})
	if !errors.Is(err, e2b.ErrStateLost) || !recovery.IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable state-lost error", err)
	}
	next, err := exec.Execute(ctx, sandbox.CodeInput{Code: "print(1)"})
	if err != nil || next.SandboxID == first.SandboxID {
		t.Fatalf("%v: the sandbox whose state was lost was reused (%s)", err, next.SandboxID)
	}
	if st := exec.Pool().Stats(); st.Discarded != 1 {
		t.Fatalf("pool stats %+v", st)
	}
}

func TestUnknownLanguage(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	ctx := ctxTimeout(t, 30*time.Second)
	_, err := sb.Execute(ctx, "puts 1", e2b.ExecuteOptions{RunOptions: sandbox.RunOptions{Language: "ruby"}})
	var ul *sandbox.UnsupportedLanguageError
	if !errors.As(err, &ul) || ul.Language != "ruby" || recovery.IsRetryable(err) {
		t.Fatalf("execute: %v", err)
	}
	if _, err := sb.CreateContext(ctx, e2b.ContextParams{Language: "Ruby "}); !errors.As(err, &ul) || ul.Language != "ruby" {
		t.Fatalf("create context: %v", err)
	}
	// python3 is python: the default context, not a kernel of its own.
	if _, err := sb.Execute(ctx, "y = 7", e2b.ExecuteOptions{RunOptions: sandbox.RunOptions{Language: "python3"}}); err != nil {
		t.Fatal(err)
	}
	if ex, err := sb.Execute(ctx, "y", e2b.ExecuteOptions{}); err != nil || ex.Text() != "7" {
		t.Fatalf("python3 did not run in the default python context: %v %+v", err, ex)
	}

	// Through a pool, the sandbox is kept.
	pool := sandbox.NewPool(c.Provider(), sandbox.MaxSandboxes(1))
	defer pool.Close(context.Background())
	lease, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lease.Run(ctx, "puts 1", sandbox.RunOptions{Language: "ruby"}); !errors.As(err, &ul) {
		t.Fatalf("lease: %v", err)
	}
	if ex, err := lease.Run(ctx, "1+1", sandbox.RunOptions{}); err != nil || ex.Text() != "2" {
		t.Fatalf("%v %+v", err, ex)
	}
	lease.Release()
	if st := pool.Stats(); st.Discarded != 0 {
		t.Fatalf("a healthy sandbox was discarded: %+v", st)
	}
}

// TestNoHangAfterAClientSideTimeout: after a timed-out execution, E2B's
// server can leave the context's next execution hanging with keepalives
// (the fake does it every time); the client restarts the context first.
func TestNoHangAfterAClientSideTimeout(t *testing.T) {
	srv := newFake(t, e2btest.WithKeepaliveInterval(20*time.Millisecond))
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	ctx := ctxTimeout(t, 60*time.Second)
	cc, err := sb.CreateContext(ctx, e2b.ContextParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, contextID := range []string{"", cc.ID} {
		slow := e2b.ExecuteOptions{ContextID: contextID, RunOptions: sandbox.RunOptions{Timeout: 300 * time.Millisecond}}
		if _, err := sb.Execute(ctx, "import time\ntime.sleep(10)", slow); !errors.Is(err, recovery.ErrTimeout) {
			t.Fatalf("context %q: %v", contextID, err)
		}
		start := time.Now()
		next := e2b.ExecuteOptions{ContextID: contextID, RunOptions: sandbox.RunOptions{Timeout: 5 * time.Second}}
		ex, err := sb.Execute(ctx, "print('next')", next)
		if err != nil || ex.StdoutText() != "next\n" {
			t.Fatalf("context %q: the execution after a timeout: %v %+v (after %s)", contextID, err, ex, time.Since(start))
		}
		if ex.ExecutionCount != 1 {
			t.Fatalf("context %q: count %d, want 1 after the restart", contextID, ex.ExecutionCount)
		}
	}
}

func TestFakeResultsAndStreamAsTheServer(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv, e2b.WithSecure(false))
	sb := createSandbox(t, c)
	ctx := ctxTimeout(t, 30*time.Second)
	for code, want := range map[string]string{"'abc'": "abc", `"it's"`: "it's", "'a\\nb'": "a\nb", "1+1": "2", "[1, 'x']": "[1, 'x']"} {
		ex, err := sb.Execute(ctx, code, e2b.ExecuteOptions{})
		if err != nil || ex.Text() != want {
			t.Fatalf("%s: %v %q, want %q", code, err, ex.Text(), want)
		}
	}
	ex, err := sb.Execute(ctx, "class J:\n    def _repr_json_(self):\n        return [1, 2, {'a': None}]\nJ()", e2b.ExecuteOptions{})
	var arr []any
	if err != nil || len(ex.Results) != 1 || json.Unmarshal(ex.Results[0].JSON, &arr) != nil || len(arr) != 3 {
		t.Fatalf("json array: %v %+v", err, ex)
	}

	resp, lines := rawExecute(t, srv, sb.ID, `{"code":"print('hi')"}`, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$`)
	var found bool
	for _, l := range lines {
		if l["type"] == "stdout" {
			found = true
			if ts, _ := l["timestamp"].(string); !stamp.MatchString(ts) {
				t.Fatalf("timestamp %q", ts)
			}
		}
	}
	if !found {
		t.Fatalf("no stdout line: %v", lines)
	}
	if ex, err := sb.Execute(ctx, "print(1)", e2b.ExecuteOptions{}); err != nil || ex.Stdout[0].Timestamp.IsZero() {
		t.Fatalf("the client did not read the timestamp: %v %+v", err, ex)
	}
	// 422 only for a Content-Type that is not JSON.
	if resp, _ := rawExecute(t, srv, sb.ID, `{"code":"1"}`, map[string]string{"Content-Type": "text/plain"}); resp.StatusCode != 422 {
		t.Fatalf("text/plain: %d", resp.StatusCode)
	}
	if resp, _ := rawExecute(t, srv, sb.ID, `{"code":"1"}`, map[string]string{"Content-Type": "application/json"}); resp.StatusCode != 200 {
		t.Fatalf("application/json: %d", resp.StatusCode)
	}
	// An unknown language: 500 text/plain.
	resp, lines = rawExecute(t, srv, sb.ID, `{"code":"1","language":"cobol"}`, nil)
	if resp.StatusCode != 500 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
		len(lines) == 0 || !strings.HasPrefix(lines[0]["raw"].(string), "Failed to create context: ") {
		t.Fatalf("unknown language: %d %q %v", resp.StatusCode, resp.Header.Get("Content-Type"), lines)
	}
}

func TestFakeContextsAsTheServer(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	ctx := ctxTimeout(t, 30*time.Second)
	list, err := sb.ListContexts(ctx)
	if err != nil || len(list) != 2 || list[0].Language != "python" || list[1].Language != "javascript" {
		t.Fatalf("default contexts: %v %+v", err, list)
	}
	cc, err := sb.CreateContext(ctx, e2b.ContextParams{Cwd: "/tmp"})
	if err != nil {
		t.Fatal(err)
	}
	run := func() *sandbox.Execution {
		ex, err := sb.Execute(ctx, "1", e2b.ExecuteOptions{ContextID: cc.ID})
		if err != nil {
			t.Fatal(err)
		}
		return ex
	}
	run()
	if ex := run(); ex.ExecutionCount != 2 {
		t.Fatalf("count %d", ex.ExecutionCount)
	}
	if err := sb.RestartContext(ctx, cc.ID); err != nil {
		t.Fatal(err)
	}
	if ex := run(); ex.ExecutionCount != 1 {
		t.Fatalf("count after restart %d, want 1", ex.ExecutionCount)
	}
	list, _ = sb.ListContexts(ctx)
	if len(list) != 3 || list[2].Cwd != "/home/user" {
		t.Fatalf("the restart did not reset the cwd: %+v", list)
	}
}

// TestFakeSendsNoKeepaliveWhileWaitingForTheLock: an execution queued
// behind another on the same context gets no keepalive until it runs.
func TestFakeSendsNoKeepaliveWhileWaitingForTheLock(t *testing.T) {
	srv := newFake(t, e2btest.WithKeepaliveInterval(20*time.Millisecond))
	c := newClient(t, srv, e2b.WithSecure(false))
	sb := createSandbox(t, c)
	ctx := ctxTimeout(t, 30*time.Second)
	if _, err := sb.Execute(ctx, "1", e2b.ExecuteOptions{}); err != nil { // start the kernel
		t.Fatal(err)
	}
	started := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// The first execution holds the context's lock for 0.6 s.
		_, _ = sb.Execute(ctx, "print('started', flush=True)\nimport time\ntime.sleep(0.6)", e2b.ExecuteOptions{RunOptions: sandbox.RunOptions{
			OnStdout: func(sandbox.OutputMessage) { once.Do(func() { close(started) }) }}})
	}()
	<-started
	_, lines := rawExecute(t, srv, sb.ID, `{"code":"2"}`, nil)
	wg.Wait()
	if len(lines) == 0 || lines[0]["type"] != "number_of_executions" {
		n := 0
		for _, l := range lines {
			if l["type"] == "keepalive" {
				n++
			}
		}
		t.Fatalf("the queued execution got %d keepalives before it ran: first line %v", n, lines[0])
	}
}

// TestAccessTokenIsCheckedByEnvd: the code interpreter runs code without
// a token, but loads the sandbox's environment only with the right one.
func TestAccessTokenIsCheckedByEnvd(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	ctx := ctxTimeout(t, 30*time.Second)
	sb, err := c.CreateSandbox(ctx, e2b.CreateParams{EnvVars: map[string]string{"FOO": "bar"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Kill(context.Background())
	code := "import os\nprint(os.environ.get('FOO'), os.environ.get('code'))"
	ex, err := sb.Execute(ctx, code, e2b.ExecuteOptions{})
	if err != nil || ex.StdoutText() != "bar None\n" {
		t.Fatalf("with the token: %v %+v", err, ex)
	}
	cc, err := sb.CreateContext(ctx, e2b.ContextParams{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"code": code, "context_id": cc.ID})
	resp, lines := rawExecute(t, srv, sb.ID, string(body), nil)
	var out string
	for _, l := range lines {
		if l["type"] == "stdout" {
			out += l["text"].(string)
		}
	}
	if resp.StatusCode != 200 || out != "None 401\n" {
		t.Fatalf("without the token: %d %q %v", resp.StatusCode, out, lines)
	}
}

func TestNoVerbPrintsASecret(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	ctx := ctxTimeout(t, 30*time.Second)
	sb := createSandbox(t, c)
	p := c.Provider()
	psb, err := p.Create(ctx, sandbox.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer psb.Close(context.Background())
	secrets := []string{srv.APIKey(), srv.AccessToken(sb.ID), srv.AccessToken(psb.ID())}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("a secret is empty: the test would prove nothing")
		}
	}
	values := map[string]any{"*Client": c, "Client": *c, "*Sandbox": sb, "Sandbox": *sb,
		"*Provider": p, "Provider": *p, "provider sandbox": psb}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%t", "%e", "%U", "%c", "%10.3v"}
	for name, v := range values {
		for _, verb := range verbs {
			got := sprintf(verb, v)
			for _, s := range secrets {
				for _, enc := range []string{s, hexOf(s), strings.ToUpper(hexOf(s))} {
					if strings.Contains(got, enc) {
						t.Fatalf("%s with %s prints a secret: %s", name, verb, got)
					}
				}
			}
		}
		if got := sprintf("%v", v); !strings.Contains(got, "e2b") {
			t.Fatalf("%s: %q does not describe it", name, got)
		}
	}
}

func TestCreateIsReadyForExecute(t *testing.T) {
	srv := newFake(t, e2btest.WithStartupDelay(400*time.Millisecond))
	c := newClient(t, srv)
	ctx := ctxTimeout(t, 30*time.Second)
	sb := createSandbox(t, c)
	if ex, err := sb.Execute(ctx, "1+1", e2b.ExecuteOptions{}); err != nil || ex.Text() != "2" {
		t.Fatalf("right after create: %v %+v", err, ex)
	}
	// NoWait returns at once; WaitReady then waits.
	sb2, err := c.CreateSandbox(ctx, e2b.CreateParams{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sb2.Kill(context.Background())
	if _, err := sb2.Execute(ctx, "1", e2b.ExecuteOptions{}); !errors.Is(err, e2b.ErrPortNotOpen) {
		t.Fatalf("NoWait: %v", err)
	}
	if err := sb2.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sb2.Execute(ctx, "1", e2b.ExecuteOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestPrimitivePoolSizeSuitsARemoteBackend(t *testing.T) {
	srv := newFake(t)
	exec, err := e2b.NewCodeExecutionPrimitive(srv.PrimitiveOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Close(context.Background())
	ctx := ctxTimeout(t, 60*time.Second)
	var leases []*sandbox.Lease
	for i := 0; i < e2b.DefaultMaxSandboxes; i++ {
		actx, cancel := context.WithTimeout(ctx, 20*time.Second)
		l, err := exec.Pool().Acquire(actx)
		cancel()
		if err != nil {
			t.Fatalf("lease %d: %v", i+1, err)
		}
		leases = append(leases, l)
	}
	actx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	if _, err := exec.Pool().Acquire(actx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lease %d beyond the bound: %v", e2b.DefaultMaxSandboxes+1, err)
	}
	cancel()
	for _, l := range leases {
		l.Release()
	}
}

func TestClientCloseReleasesIdleConnections(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	if _, err := c.List(ctxTimeout(t, 10*time.Second), e2b.ListParams{}); err != nil {
		t.Fatal(err)
	}
	if n := srv.Stats().OpenConns; n == 0 {
		t.Fatal("no open connection after a request")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().OpenConns != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open after Close", srv.Stats().OpenConns)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestErrorTextsReadWell: each error says "E2B sandbox" when it is about
// one and carries the package's prefix once.
func TestErrorTextsReadWell(t *testing.T) {
	srv := newFake(t, e2btest.WithStartupDelay(time.Hour))
	c := newClient(t, srv, e2b.WithMaxLineSize(1024))
	ctx := ctxTimeout(t, 30*time.Second)
	var errs []error
	sb, err := c.CreateSandbox(ctx, e2b.CreateParams{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Kill(context.Background())
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	errs = append(errs, sb.WaitReady(wctx))
	cancel()
	_, err = c.CreateSandbox(wctx, e2b.CreateParams{})
	errs = append(errs, err)
	_, err = sb.Execute(ctx, "1", e2b.ExecuteOptions{})
	errs = append(errs, err)
	_, err = c.Get(ctx, "nosuchsandbox")
	errs = append(errs, err)
	_, err = c.Connect(ctx, "nosuchsandbox", 0)
	errs = append(errs, err)
	p := c.Provider()
	pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = p.Create(pctx, sandbox.CreateOptions{})
	cancel()
	errs = append(errs, err)

	srv2 := newFake(t)
	c2 := newClient(t, srv2, e2b.WithMaxLineSize(1024))
	sb2 := createSandbox(t, c2)
	_, err = sb2.Execute(ctx, "'x' * 5000", e2b.ExecuteOptions{})
	errs = append(errs, err)
	srv2.Inject(e2btest.Fault{Kind: e2btest.CutStream, Op: e2btest.OpExecute, AfterLines: 1})
	_, err = sb2.Execute(ctx, "print(1)", e2b.ExecuteOptions{})
	errs = append(errs, err)
	srv2.Inject(e2btest.Fault{Kind: e2btest.SyntheticError, Op: e2btest.OpExecute})
	_, err = sb2.Execute(ctx, "1", e2b.ExecuteOptions{})
	errs = append(errs, err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = sb2.Execute(cctx, "1", e2b.ExecuteOptions{})
	errs = append(errs, err)

	for i, err := range errs {
		if err == nil {
			t.Fatalf("error %d is nil", i)
		}
		msg := err.Error()
		if n := strings.Count(msg, "e2b:"); n != 1 {
			t.Errorf("error %d has the prefix %d times: %s", i, n, msg)
		}
		if strings.Contains(msg, "sandbox ") && !strings.Contains(msg, "E2B sandbox") {
			t.Errorf("error %d does not say which sandbox: %s", i, msg)
		}
	}
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, digits[s[i]>>4], digits[s[i]&15])
	}
	return string(b)
}

func sprintf(format string, v any) string { return fmt.Sprintf(format, v) }

// TestPerRunEnvThatE2BWouldBreak: E2B's server pastes per-run variables
// into Python source; the fake does what it does with a quote, and the
// client refuses such values before sending.
func TestPerRunEnvThatE2BWouldBreak(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv, e2b.WithSecure(false))
	sb := createSandbox(t, c)
	_, lines := rawExecute(t, srv, sb.ID, `{"code":"1","env_vars":{"A":"it's"}}`, nil)
	if len(lines) < 2 || lines[0]["name"] != "SyntaxError" || lines[len(lines)-1]["type"] != "end_of_execution" {
		t.Fatalf("fake: %v", lines)
	}
	before := srv.Stats().Executes
	for _, v := range []string{"it's", `C:\temp`, "two\nlines"} {
		_, err := sb.Execute(ctxTimeout(t, 10*time.Second), "1", e2b.ExecuteOptions{RunOptions: sandbox.RunOptions{Env: map[string]string{"A": v}}})
		var ie *recovery.InvalidInputError
		if !errors.As(err, &ie) || ie.Field != "env" {
			t.Fatalf("%q: %v", v, err)
		}
	}
	if srv.Stats().Executes != before {
		t.Fatal("a refused execution was sent")
	}
	ex, err := sb.Execute(ctxTimeout(t, 10*time.Second), "import os\nprint(os.environ['A'])", e2b.ExecuteOptions{RunOptions: sandbox.RunOptions{Env: map[string]string{"A": "plain value"}}})
	if err != nil || ex.StdoutText() != "plain value\n" {
		t.Fatalf("%v %+v", err, ex)
	}
}
