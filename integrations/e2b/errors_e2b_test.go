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
	"github.com/ttadev/primitives/sandbox"
)

// TestEveryErrorMatchesErrE2B produces each kind of error the package
// returns and checks that errors.Is(err, e2b.ErrE2B) holds, and that the
// classification under it survives.
func TestEveryErrorMatchesErrE2B(t *testing.T) {
	srv := newFake(t, e2btest.WithKeepaliveInterval(20*time.Millisecond))
	c := newClient(t, srv, e2b.WithMaxLineSize(1024))
	ctx := ctxTimeout(t, 60*time.Second)
	sb := createSandbox(t, c)
	errs := map[string]error{}
	add := func(name string, err error) { errs[name] = err }

	_, err := e2b.NewClient(e2b.WithAPIKey("not-a-key"))
	add("authentication", err)
	srv.Inject(e2btest.Fault{Kind: e2btest.RateLimit, Op: e2btest.OpCreate})
	_, err = c.CreateSandbox(ctx, e2b.CreateParams{})
	add("rate limit", err)
	_, err = c.Get(ctx, "nosuchsandbox")
	add("not found", err)
	srv.Inject(e2btest.Fault{Kind: e2btest.PortNotOpen, Op: e2btest.OpExecute})
	_, err = sb.Execute(ctx, "1", e2b.ExecuteOptions{})
	add("unavailable", err)
	srv.Inject(e2btest.Fault{Kind: e2btest.Status, Op: e2btest.OpCreate, Status: 503})
	_, err = c.CreateSandbox(ctx, e2b.CreateParams{})
	add("service", err)
	srv.Inject(e2btest.Fault{Kind: e2btest.HTML, Op: e2btest.OpCreate})
	_, err = c.CreateSandbox(ctx, e2b.CreateParams{})
	add("unexpected response", err)
	srv.Inject(e2btest.Fault{Kind: e2btest.NoSandboxID, Op: e2btest.OpCreate})
	_, err = c.CreateSandbox(ctx, e2b.CreateParams{})
	add("protocol", err)
	srv.Inject(e2btest.Fault{Kind: e2btest.CutStream, Op: e2btest.OpExecute, AfterLines: 1})
	_, err = sb.Execute(ctx, "print(1)", e2b.ExecuteOptions{})
	add("interrupted", err)
	srv.Inject(e2btest.Fault{Kind: e2btest.SyntheticError, Op: e2btest.OpExecute})
	_, err = sb.Execute(ctx, "1", e2b.ExecuteOptions{})
	add("state lost", err)
	_, err = sb.Execute(ctx, "import time\ntime.sleep(5)", e2b.ExecuteOptions{RunOptions: sandbox.RunOptions{Timeout: 200 * time.Millisecond}})
	add("execution timeout", err)
	_, err = sb.Execute(ctx, " ", e2b.ExecuteOptions{})
	add("invalid input", err)
	_, err = sb.Execute(ctx, "1", e2b.ExecuteOptions{RunOptions: sandbox.RunOptions{Language: "cobol"}})
	add("unsupported language", err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = sb.Execute(cctx, "1", e2b.ExecuteOptions{})
	add("cancelled", err)
	t.Setenv(e2b.EnvTimeout, "soon")
	_, err = e2b.NewClient(srv.ClientOptions()...)
	add("config", err)
	t.Setenv(e2b.EnvTimeout, "")

	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer silent.Close()
	slow := newClient(t, srv, e2b.WithAPIURL(silent.URL), e2b.WithHTTPClient(silent.Client()), e2b.WithRequestTimeout(100*time.Millisecond))
	_, err = slow.Get(ctx, "x")
	add("request timeout", err)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	down := newClient(t, srv, e2b.WithAPIURL(closed.URL))
	_, err = down.Get(ctx, "x")
	add("transport", err)

	checks := map[string]func(error) bool{
		"authentication":      func(err error) bool { return errors.Is(err, e2b.ErrAuthentication) },
		"rate limit":          func(err error) bool { return errors.Is(err, e2b.ErrRateLimited) },
		"not found":           func(err error) bool { return errors.Is(err, e2b.ErrSandboxNotFound) },
		"unavailable":         func(err error) bool { return errors.Is(err, e2b.ErrPortNotOpen) },
		"service":             func(err error) bool { var e *e2b.ServiceError; return errors.As(err, &e) },
		"unexpected response": func(err error) bool { var e *e2b.UnexpectedResponseError; return errors.As(err, &e) },
		"protocol":            func(err error) bool { return errors.Is(err, e2b.ErrProtocol) },
		"interrupted":         func(err error) bool { return errors.Is(err, e2b.ErrInterrupted) },
		"state lost":          func(err error) bool { return errors.Is(err, e2b.ErrStateLost) },
		"execution timeout":   func(err error) bool { return errors.Is(err, recovery.ErrTimeout) && !recovery.IsRetryable(err) },
		"invalid input": func(err error) bool {
			var e *recovery.InvalidInputError
			return errors.As(err, &e) && !recovery.IsRetryable(err)
		},
		"unsupported language": func(err error) bool {
			var e *sandbox.UnsupportedLanguageError
			return errors.As(err, &e) && !recovery.IsRetryable(err)
		},
		"cancelled":       func(err error) bool { return errors.Is(err, context.Canceled) && !recovery.IsRetryable(err) },
		"config":          func(err error) bool { var e *e2b.ConfigError; return errors.As(err, &e) && !recovery.IsRetryable(err) },
		"request timeout": func(err error) bool { return errors.Is(err, e2b.ErrRequestTimeout) },
		"transport":       func(err error) bool { return recovery.IsRetryable(err) },
	}
	for name, check := range checks {
		err := errs[name]
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !errors.Is(err, e2b.ErrE2B) {
			t.Errorf("%s: %v does not match ErrE2B", name, err)
		}
		if !check(err) {
			t.Errorf("%s: classification lost: %v", name, err)
		}
	}
}

func TestE2BTimeoutFromTheEnvironment(t *testing.T) {
	srv := newFake(t)
	t.Setenv(e2b.EnvTimeout, "0.5")
	exec, err := e2b.NewCodeExecutionPrimitive(srv.PrimitiveOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Close(context.Background())
	_, err = exec.Execute(ctxTimeout(t, 30*time.Second), sandbox.CodeInput{Code: "import time\ntime.sleep(5)"})
	var te *recovery.TimeoutError
	if !errors.As(err, &te) || te.After != 500*time.Millisecond {
		t.Fatalf("E2B_TIMEOUT=0.5: %v", err)
	}
	// WithTimeout wins over the variable.
	exec2, err := e2b.NewCodeExecutionPrimitive(append(srv.PrimitiveOptions(), e2b.WithTimeout(20*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	defer exec2.Close(context.Background())
	if out, err := exec2.Execute(ctxTimeout(t, 30*time.Second), sandbox.CodeInput{Code: "import time\ntime.sleep(0.8)\nprint('done')"}); err != nil || out.Logs != "done\n" {
		t.Fatalf("%v %+v", err, out)
	}
	for _, bad := range []string{"abc", "0", "-3", "NaN", "1e9"} {
		t.Setenv(e2b.EnvTimeout, bad)
		var ce *e2b.ConfigError
		if _, err := e2b.NewCodeExecutionPrimitive(srv.PrimitiveOptions()...); !errors.As(err, &ce) || ce.Variable != e2b.EnvTimeout {
			t.Fatalf("E2B_TIMEOUT=%s: %v", bad, err)
		}
	}
}
