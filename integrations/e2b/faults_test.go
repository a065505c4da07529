package e2b_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/integrations/e2b/e2btest"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

func TestRateLimitCarriesRetryAfter(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	srv.Inject(e2btest.Fault{Kind: e2btest.RateLimit, Op: e2btest.OpCreate, RetryAfter: 2 * time.Second})
	_, err := c.CreateSandbox(context.Background(), e2b.CreateParams{})
	var rl *e2b.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter() != 2*time.Second || !errors.Is(err, e2b.ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	if !recovery.IsRetryable(err) || recovery.RetryAfter(err) != 2*time.Second {
		t.Fatal("the recovery package does not see the hint")
	}
	if srv.Stats().Live != 0 {
		t.Fatal("a refused create left a sandbox")
	}
}

// TestRetryHonoursTheRateLimitHint runs recovery.Retry over the primitive:
// the first create is refused with Retry-After: 1, and the delay before the
// second attempt is the hint (capped by MaxDelay), not the 1 ms backoff.
func TestRetryHonoursTheRateLimitHint(t *testing.T) {
	srv := newFake(t)
	exec, err := e2b.NewCodeExecutionPrimitive(srv.PrimitiveOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Close(context.Background())
	srv.Inject(e2btest.Fault{Kind: e2btest.RateLimit, Op: e2btest.OpCreate, RetryAfter: time.Second})
	var delays []time.Duration
	r := recovery.Retry(exec, recovery.MaxRetries(3), recovery.InitialDelay(time.Millisecond),
		recovery.MaxDelay(80*time.Millisecond), recovery.NoJitter(),
		recovery.OnRetry(func(e recovery.RetryEvent) { delays = append(delays, e.Delay) }))
	out, err := r.Execute(ctxTimeout(t, 30*time.Second), sandbox.CodeInput{Code: "print('ok')"})
	if err != nil || out.Logs != "ok\n" {
		t.Fatalf("%v %+v", err, out)
	}
	if len(delays) != 1 || delays[0] != 80*time.Millisecond {
		t.Fatalf("delays %v", delays)
	}
}

func TestAuthenticationFailures(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	srv.Inject(e2btest.Fault{Kind: e2btest.Unauthorized, Op: e2btest.OpExecute})
	_, err := sb.Execute(context.Background(), "1", e2b.ExecuteOptions{})
	var ae *e2b.AuthenticationError
	if !errors.As(err, &ae) || ae.Status != 401 || recovery.IsRetryable(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestPortNotOpenIsRetryableOnlyInTheStartupWindow(t *testing.T) {
	srv := newFake(t)
	ctx := ctxTimeout(t, 30*time.Second)
	for _, tc := range []struct {
		window    time.Duration
		retryable bool
	}{{e2b.DefaultStartupWindow, true}, {0, false}} {
		c := newClient(t, srv, e2b.WithStartupWindow(tc.window))
		sb := createSandbox(t, c)
		srv.Inject(e2btest.Fault{Kind: e2btest.PortNotOpen, Op: e2btest.OpExecute})
		_, err := sb.Execute(ctx, "1", e2b.ExecuteOptions{})
		var su *e2b.SandboxUnavailableError
		if !errors.As(err, &su) || !su.PortNotOpen || su.Port != 49999 || !errors.Is(err, e2b.ErrPortNotOpen) {
			t.Fatalf("err = %v", err)
		}
		if recovery.IsRetryable(err) != tc.retryable {
			t.Fatalf("window %s: retryable = %v (%v)", tc.window, !tc.retryable, err)
		}
		if !tc.retryable && !strings.Contains(err.Error(), "base") {
			t.Fatalf("no hint about the template: %v", err)
		}
		// The next execution works.
		if ex, err := sb.Execute(ctx, "1+1", e2b.ExecuteOptions{}); err != nil || ex.Text() != "2" {
			t.Fatalf("%v %+v", err, ex)
		}
	}
	// A template without the code interpreter.
	c := newClient(t, srv)
	base, err := c.CreateSandbox(ctx, e2b.CreateParams{Template: "base", NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Kill(context.Background())
	if _, err := base.Execute(ctx, "1", e2b.ExecuteOptions{}); !errors.Is(err, e2b.ErrPortNotOpen) {
		t.Fatalf("base template: %v", err)
	}
}

func TestExpiredSandbox(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv, e2b.WithStartupWindow(0))
	sb := createSandbox(t, c)
	if !srv.ExpireSandbox(sb.ID) {
		t.Fatal("no such sandbox")
	}
	_, err := sb.Execute(context.Background(), "1", e2b.ExecuteOptions{})
	var su *e2b.SandboxUnavailableError
	if !errors.As(err, &su) || su.PortNotOpen || !errors.Is(err, e2b.ErrSandboxNotFound) || recovery.IsRetryable(err) {
		t.Fatalf("err = %v", err)
	}
	if ok, err := sb.Kill(context.Background()); ok || err != nil {
		t.Fatalf("kill of an expired sandbox: %v %v", ok, err)
	}
}

func TestServiceErrors(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	ctx := context.Background()
	srv.Inject(e2btest.Fault{Kind: e2btest.Status, Op: e2btest.OpCreate, Status: 503, ErrorCode: "sandbox_capacity_unavailable"})
	_, err := c.CreateSandbox(ctx, e2b.CreateParams{})
	var se *e2b.ServiceError
	if !errors.As(err, &se) || se.Status != 503 || se.ErrorCode != "sandbox_capacity_unavailable" || se.Code != 503 || !recovery.IsRetryable(err) {
		t.Fatalf("err = %v", err)
	}
	_, err = c.CreateSandbox(ctx, e2b.CreateParams{Lifetime: 2 * time.Hour})
	if !errors.As(err, &se) || se.Status != 400 || recovery.IsRetryable(err) || !strings.Contains(err.Error(), "Timeout cannot be greater") {
		t.Fatalf("err = %v", err)
	}
	if st := srv.Stats(); st.Live != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestHTMLInsteadOfJSON(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	for _, op := range []e2btest.Op{e2btest.OpCreate, e2btest.OpExecute} {
		srv.Inject(e2btest.Fault{Kind: e2btest.HTML, Op: op})
		var err error
		if op == e2btest.OpCreate {
			_, err = c.CreateSandbox(context.Background(), e2b.CreateParams{})
		} else {
			_, err = sb.Execute(context.Background(), "1", e2b.ExecuteOptions{})
		}
		var ue *e2b.UnexpectedResponseError
		if !errors.As(err, &ue) || ue.Status != 502 || !strings.Contains(err.Error(), "text/html") ||
			!strings.Contains(err.Error(), "502") || !recovery.IsRetryable(err) {
			t.Fatalf("op %v: err = %v", op, err)
		}
	}
	// HTML with 200 on the control plane.
	srv.Inject(e2btest.Fault{Kind: e2btest.HTML, Op: e2btest.OpCreate, Status: 200})
	_, err := c.CreateSandbox(context.Background(), e2b.CreateParams{})
	if !errors.Is(err, e2b.ErrProtocol) {
		t.Fatalf("HTML 200: %v", err)
	}
	if st := srv.Stats(); st.Live != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCreatedWithoutSandboxID(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	srv.Inject(e2btest.Fault{Kind: e2btest.NoSandboxID, Op: e2btest.OpCreate})
	_, err := c.CreateSandbox(context.Background(), e2b.CreateParams{})
	var pe *e2b.ProtocolError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "sandboxID") || recovery.IsRetryable(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestStreamCutInTheMiddle(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	srv.Inject(e2btest.Fault{Kind: e2btest.CutStream, Op: e2btest.OpExecute, AfterLines: 2})
	_, err := sb.Execute(ctxTimeout(t, 20*time.Second), "import time\nprint('first', flush=True)\ntime.sleep(0.2)\nprint('second')", e2b.ExecuteOptions{})
	var ie *e2b.InterruptedExecutionError
	if !errors.As(err, &ie) || ie.Partial == nil || ie.Partial.StdoutText() != "first\n" || ie.Err == nil {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(err, sandbox.ErrCrashed) || !errors.Is(err, e2b.ErrInterrupted) || !recovery.IsRetryable(err) {
		t.Fatalf("classification of %v", err)
	}
}

func TestMalformedLine(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	srv.Inject(e2btest.Fault{Kind: e2btest.MalformedLine, Op: e2btest.OpExecute})
	_, err := sb.Execute(context.Background(), "1", e2b.ExecuteOptions{})
	var pe *e2b.ProtocolError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "malformed line 1") {
		t.Fatalf("err = %v", err)
	}
}

// TestKeepalivesOnlyPastTheExecutionTimeout: the body never ends, only
// keepalives arrive; the execution timeout ends it with the timeout error
// of the recovery package (not the request timeout).
func TestKeepalivesOnlyPastTheExecutionTimeout(t *testing.T) {
	srv := newFake(t, e2btest.WithKeepaliveInterval(10*time.Millisecond))
	c := newClient(t, srv, e2b.WithTimeout(300*time.Millisecond))
	sb := createSandbox(t, c)
	srv.Inject(e2btest.Fault{Kind: e2btest.KeepaliveOnly, Op: e2btest.OpExecute})
	start := time.Now()
	_, err := sb.Execute(ctxTimeout(t, 20*time.Second), "1", e2b.ExecuteOptions{})
	var te *recovery.TimeoutError
	if !errors.As(err, &te) || te.Op != e2b.ExecutionTimeoutOp || te.After != 300*time.Millisecond ||
		!errors.Is(err, recovery.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || recovery.IsRetryable(err) {
		t.Fatalf("err = %v", err)
	}
	if errors.Is(err, e2b.ErrRequestTimeout) {
		t.Fatal("an execution timeout reported as a request timeout")
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("the timeout did not stop the stream")
	}
	// A per-call timeout overrides the default.
	srv.Inject(e2btest.Fault{Kind: e2btest.KeepaliveOnly, Op: e2btest.OpExecute})
	_, err = sb.Execute(ctxTimeout(t, 20*time.Second), "1", e2b.ExecuteOptions{RunOptions: sandbox.RunOptions{Timeout: 50 * time.Millisecond}})
	if !errors.As(err, &te) || te.After != 50*time.Millisecond {
		t.Fatalf("err = %v", err)
	}
}

func TestSlowStartWithKeepalives(t *testing.T) {
	srv := newFake(t, e2btest.WithKeepaliveInterval(5*time.Millisecond))
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	srv.Inject(e2btest.Fault{Kind: e2btest.SlowStart, Op: e2btest.OpExecute, Delay: 150 * time.Millisecond})
	ex, err := sb.Execute(ctxTimeout(t, 20*time.Second), "print('late')", e2b.ExecuteOptions{})
	if err != nil || ex.StdoutText() != "late\n" {
		t.Fatalf("%v %+v", err, ex)
	}
}

func TestCallerCancellationAbortsTheStream(t *testing.T) {
	srv := newFake(t, e2btest.WithKeepaliveInterval(10*time.Millisecond))
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	srv.Inject(e2btest.Fault{Kind: e2btest.KeepaliveOnly, Op: e2btest.OpExecute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := sb.Execute(ctx, "1", e2b.ExecuteOptions{})
	if !errors.Is(err, context.Canceled) || errors.Is(err, recovery.ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	// Real code is interrupted too: a sleeping cell ends when the caller
	// goes away, and the sandbox serves the next execution.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err = sb.Execute(ctx, "import time\ntime.sleep(30)", e2b.ExecuteOptions{})
	if !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
}

func TestRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // never answers in time
	}))
	defer ts.Close()
	defer close(release)
	c, err := e2b.NewClient(e2b.WithAPIKey(fakeKey), e2b.WithAPIURL(ts.URL), e2b.WithSandboxURL(ts.URL),
		e2b.WithRequestTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateSandbox(context.Background(), e2b.CreateParams{})
	var rt *e2b.RequestTimeoutError
	if !errors.As(err, &rt) || !errors.Is(err, e2b.ErrRequestTimeout) || !recovery.IsRetryable(err) {
		t.Fatalf("create: %v", err)
	}
	sb, err := e2b.NewClient(e2b.WithDebug(true), e2b.WithSandboxURL(ts.URL), e2b.WithRequestTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := sb.CreateSandbox(context.Background(), e2b.CreateParams{})
	_, err = h.Execute(context.Background(), "1", e2b.ExecuteOptions{})
	var te *recovery.TimeoutError
	if !errors.As(err, &rt) || errors.As(err, &te) {
		t.Fatalf("execute: %v", err)
	}
}

// A server that keeps the stream open after end_of_execution does not hold
// the result back until the execution timeout.
func TestStreamHeldOpenAfterEnd(t *testing.T) {
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = w.Write([]byte(`{"type":"number_of_executions","execution_count":1}` + "\n"))
		_, _ = w.Write([]byte(`{"type":"stdout","text":"done\n"}` + "\n"))
		_, _ = w.Write([]byte(`{"type":"end_of_execution"}` + "\n"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer ts.Close()
	defer close(release)
	c, err := e2b.NewClient(e2b.WithDebug(true), e2b.WithSandboxURL(ts.URL))
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := c.CreateSandbox(context.Background(), e2b.CreateParams{})
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		ex, err := sb.Execute(context.Background(), "print('done')", e2b.ExecuteOptions{RunOptions: sandbox.RunOptions{Timeout: time.Minute}})
		if err != nil {
			done <- result{err: err}
			return
		}
		done <- result{out: ex.StdoutText()}
	}()
	select {
	case r := <-done:
		if r.err != nil || r.out != "done\n" {
			t.Fatalf("got %q, %v", r.out, r.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Execute waited for the server to close a finished stream")
	}
}

// TestTenMegabyteLine serves one 10 MB result line: it parses with the
// default bound, and a smaller bound refuses it with a typed error.
func TestTenMegabyteLine(t *testing.T) {
	big := strings.Repeat("QUJD", 10<<20/4)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = w.Write([]byte(`{"type":"number_of_executions","execution_count":1}` + "\n"))
		_, _ = w.Write([]byte(`{"type":"result","is_main_result":true,"png":"` + big + "\"}\n"))
		_, _ = w.Write([]byte(`{"type":"end_of_execution"}` + "\n"))
	}))
	defer ts.Close()
	for _, tc := range []struct {
		max int
		ok  bool
	}{{0, true}, {1 << 20, false}} {
		opts := []e2b.ClientOption{e2b.WithDebug(true), e2b.WithSandboxURL(ts.URL)}
		if tc.max > 0 {
			opts = append(opts, e2b.WithMaxLineSize(tc.max))
		}
		c, _ := e2b.NewClient(opts...)
		sb, _ := c.CreateSandbox(context.Background(), e2b.CreateParams{})
		ex, err := sb.Execute(context.Background(), "plot()", e2b.ExecuteOptions{})
		if tc.ok {
			if err != nil || len(ex.Results) != 1 || ex.Results[0].PNG != big {
				t.Fatalf("default bound: %v", err)
			}
			continue
		}
		var pe *e2b.ProtocolError
		if !errors.As(err, &pe) || !errors.Is(err, e2b.ErrLineTooLong) || !strings.Contains(err.Error(), "1048576") {
			t.Fatalf("1 MiB bound: %v", err)
		}
	}
}

// The fake arms a cut while its keepalive goroutine is already writing;
// run under -race with keepalives every microsecond, this catches any
// unsynchronised access between the two.
func TestCutStreamWithFastKeepalives(t *testing.T) {
	srv := newFake(t, e2btest.WithKeepaliveInterval(time.Microsecond))
	c := newClient(t, srv)
	sb := createSandbox(t, c)
	for range 200 {
		srv.Inject(e2btest.Fault{Kind: e2btest.CutStream, Op: e2btest.OpExecute, AfterLines: 50})
		_, err := sb.Execute(ctxTimeout(t, 20*time.Second), "print(1)", e2b.ExecuteOptions{})
		if !errors.Is(err, e2b.ErrInterrupted) {
			t.Fatalf("err = %v, want an interrupted execution", err)
		}
	}
}
