package sandbox_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/sandboxtest"
)

var quiet = observability.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

func newExec(t testing.TB, prov sandbox.Provider, opts ...sandbox.CodeOption) *sandbox.CodeExecution {
	t.Helper()
	ce := sandbox.NewCodeExecution(prov, append([]sandbox.CodeOption{quiet}, opts...)...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ce.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ce
}

func TestCodeExecutionRejectsInvalidInputBeforeAnySandbox(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	ce := newExec(t, prov)
	for name, in := range map[string]sandbox.CodeInput{
		"empty":            {},
		"blank":            {Code: " \n\t "},
		"negative timeout": {Code: "print:x", Timeout: -time.Second},
	} {
		_, err := ce.Execute(context.Background(), in)
		var bad *recovery.InvalidInputError
		if !errors.As(err, &bad) {
			t.Fatalf("%s: err = %v, want *recovery.InvalidInputError", name, err)
		}
		if recovery.IsRetryable(err) {
			t.Fatalf("%s: invalid input classified retryable", name)
		}
	}
	if s := prov.Stats(); s.Created != 0 || s.Runs != 0 {
		t.Fatalf("invalid input touched a sandbox: %+v", s)
	}
}

func TestCodeExecutionUserErrorIsAResult(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	ce := newExec(t, prov)
	out, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: "raise:ZeroDivisionError:division by zero"})
	if err != nil {
		t.Fatalf("a user-code failure returned a Go error: %v", err)
	}
	if out.Success || out.Error != "ZeroDivisionError: division by zero" ||
		out.ErrorName != "ZeroDivisionError" || out.ErrorValue != "division by zero" ||
		!strings.Contains(out.Traceback, "Traceback") {
		t.Fatalf("output %+v", out)
	}
	if out.SandboxID == "" || out.ExecutionTimeMS <= 0 {
		t.Fatalf("missing sandbox id or time: %+v", out)
	}
}

func TestCodeExecutionSuccess(t *testing.T) {
	prov := sandboxtest.New(func(_ context.Context, sb *sandboxtest.Sandbox, code string, opts sandbox.RunOptions) (*sandbox.Execution, error) {
		return &sandbox.Execution{
			Stdout:  []sandbox.OutputMessage{{Text: "out1\n"}, {Text: "out2\n"}},
			Stderr:  []sandbox.OutputMessage{{Text: "warn\n", Error: true}},
			Results: []sandbox.Result{{IsMainResult: true, Text: "42"}},
		}, nil
	})
	ce := newExec(t, prov)
	out, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: "anything"})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Success || out.Error != "" || out.Stdout != "out1\nout2\n" || out.Stderr != "warn\n" ||
		out.Logs != "out1\nout2\nwarn\n" || out.Text() != "42" || out.ExecutionCount != 1 || out.Truncated {
		t.Fatalf("output %+v", out)
	}
}

func TestCodeExecutionPassesEnvTimeoutAndLanguage(t *testing.T) {
	var got sandbox.RunOptions
	prov := sandboxtest.New(func(_ context.Context, _ *sandboxtest.Sandbox, _ string, opts sandbox.RunOptions) (*sandbox.Execution, error) {
		got = opts
		return &sandbox.Execution{}, nil
	})
	ce := newExec(t, prov, sandbox.WithTimeout(7*time.Second))
	ctx := context.Background()
	if _, err := ce.Execute(ctx, sandbox.CodeInput{Code: "x"}); err != nil {
		t.Fatal(err)
	}
	if got.Timeout != 7*time.Second {
		t.Fatalf("default timeout passed as %s", got.Timeout)
	}
	in := sandbox.CodeInput{Code: "x", Timeout: 2 * time.Second, Env: map[string]string{"K": "v"}, Language: " Python"}
	if _, err := ce.Execute(ctx, in); err != nil {
		t.Fatal(err)
	}
	if got.Timeout != 2*time.Second || got.Env["K"] != "v" || got.Language != "python" {
		t.Fatalf("run options %+v", got)
	}
	_, err := ce.Execute(ctx, sandbox.CodeInput{Code: "x", Language: "ruby"})
	var lang *sandbox.UnsupportedLanguageError
	if !errors.As(err, &lang) || lang.Language != "ruby" {
		t.Fatalf("unsupported language: %v", err)
	}
}

func TestCodeExecutionTemplateAndPipInstall(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	ce := newExec(t, prov)
	if _, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: "print:x"}); err != nil {
		t.Fatal(err)
	}
	if o := prov.Sandboxes()[0].Options(); o.AllowInternet {
		t.Fatal("network allowed by default")
	}

	prov = sandboxtest.New(script(nil))
	ce = newExec(t, prov,
		sandbox.WithCreateOptions(sandbox.CreateOptions{Template: "base", Env: map[string]string{"A": "1"}}),
		sandbox.WithTemplate("code-interpreter-v1"), sandbox.WithPipInstall(true))
	if _, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: "print:x"}); err != nil {
		t.Fatal(err)
	}
	o := prov.Sandboxes()[0].Options()
	if !o.AllowInternet || o.Template != "code-interpreter-v1" || o.Env["A"] != "1" {
		t.Fatalf("create options %+v", o)
	}
}

func TestCodeExecutionTimeoutIsTypedAndNextCallGetsFreshSandbox(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	ce := newExec(t, prov, sandbox.MaxSandboxes(1))
	ctx := context.Background()
	out, err := ce.Execute(ctx, sandbox.CodeInput{Code: "block", Timeout: 20 * time.Millisecond})
	if !errors.Is(err, recovery.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	var te *recovery.TimeoutError
	var re *sandbox.RunError
	if !errors.As(err, &te) || te.After != 20*time.Millisecond || !errors.As(err, &re) || re.SandboxID != out.SandboxID {
		t.Fatalf("err = %#v", err)
	}
	if recovery.IsRetryable(err) {
		t.Fatal("a code timeout must not be retried")
	}
	next, err := ce.Execute(ctx, sandbox.CodeInput{Code: "print:ok"})
	if err != nil || next.Logs != "ok" || next.SandboxID == out.SandboxID {
		t.Fatalf("after timeout: %v %+v (timed out on %s)", err, next, out.SandboxID)
	}
}

func TestCodeExecutionTruncatesEveryOutput(t *testing.T) {
	big := strings.Repeat("é", 30) // 30 characters, 60 bytes
	prov := sandboxtest.New(func(context.Context, *sandboxtest.Sandbox, string, sandbox.RunOptions) (*sandbox.Execution, error) {
		return &sandbox.Execution{
			Stdout:  []sandbox.OutputMessage{{Text: big[:20]}, {Text: big[20:]}}, // 10 + 20 characters
			Stderr:  []sandbox.OutputMessage{{Text: "err"}},
			Results: []sandbox.Result{{IsMainResult: true, Text: strings.Repeat("r", 26), PNG: strings.Repeat("A", 40)}},
			Error:   &sandbox.ExecutionError{Name: "ValueError", Value: strings.Repeat("v", 30), Traceback: strings.Repeat("t", 25)},
		}, nil
	})
	ce := newExec(t, prov, sandbox.WithMaxOutputSize(25))
	out, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: "x"})
	if err != nil {
		t.Fatal(err)
	}
	marker := func(n string) string {
		return "\n... [output truncated: " + n + " characters omitted by the primitive (limit 25 characters)]"
	}
	checks := map[string][2]string{
		"stdout":    {out.Stdout, strings.Repeat("é", 25) + marker("5")},
		"stderr":    {out.Stderr, "err"},
		"logs":      {out.Logs, strings.Repeat("é", 25) + marker("8")},
		"result":    {out.Results[0].Text, strings.Repeat("r", 25) + marker("1")},
		"png":       {out.Results[0].PNG, strings.Repeat("A", 40)},
		"value":     {out.ErrorValue, strings.Repeat("v", 25) + marker("5")},
		"traceback": {out.Traceback, strings.Repeat("t", 25)},
		"error":     {out.Error, "ValueError: " + strings.Repeat("v", 25) + marker("5")},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if !out.Truncated {
		t.Error("Truncated not set")
	}
}

func TestCodeExecutionConcurrentCallers(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	ce := newExec(t, prov, sandbox.MaxSandboxes(3))
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			out, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: "print:hi"})
			if err == nil && out.Logs != "hi" {
				err = errors.New("wrong output " + out.Logs)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s := prov.Stats(); s.PeakLive > 3 || s.Overlaps != 0 {
		t.Fatalf("provider stats %+v", s)
	}
	if ce.Pool().Stats().Created != prov.Stats().Created {
		t.Fatal("Pool() is not the primitive's pool")
	}
}

func TestCodeExecutionAfterClose(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	ce := newExec(t, prov)
	if _, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: "print:x"}); err != nil {
		t.Fatal(err)
	}
	if err := ce.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: "print:x"}); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Execute after Close: %v", err)
	}
	if s := prov.Stats(); s.Live != 0 {
		t.Fatalf("sandboxes left open: %+v", s)
	}
}

func TestCodeExecutionConstructorPanics(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	for name, f := range map[string]func(){
		"nil provider":       func() { sandbox.NewCodeExecution(nil) },
		"nil option":         func() { sandbox.NewCodeExecution(prov, nil) },
		"zero timeout":       func() { sandbox.WithTimeout(0) },
		"negative timeout":   func() { sandbox.WithTimeout(-time.Second) },
		"zero output":        func() { sandbox.WithMaxOutputSize(0) },
		"negative age":       func() { sandbox.WithSessionMaxAge(-time.Second) },
		"nil pool option":    func() { sandbox.WithPoolOptions(nil) },
		"MaxSandboxes(-1)":   func() { sandbox.NewCodeExecution(prov, sandbox.MaxSandboxes(-1)) },
		"negative max uses":  func() { sandbox.NewCodeExecution(prov, sandbox.WithPoolOptions(sandbox.MaxUses(-2))) },
		"negative output sz": func() { sandbox.WithMaxOutputSize(-5) },
	} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "sandbox: ") {
					t.Errorf("%s: panic %q, want one starting with \"sandbox: \"", name, msg)
				}
			}()
			f()
		}()
	}
}

func TestCodeExecutionPoolOptionsReachThePool(t *testing.T) {
	prov := sandboxtest.New(script(nil))
	ce := newExec(t, prov, sandbox.WithPoolOptions(sandbox.MaxSandboxes(1), sandbox.SessionMode()), sandbox.WithSessionMaxAge(time.Hour))
	if ce.Pool().Stateless() {
		t.Fatal("SessionMode not applied")
	}
	ctx := context.Background()
	if _, err := ce.Execute(ctx, sandbox.CodeInput{Code: "set:a=b"}); err != nil {
		t.Fatal(err)
	}
	out, err := ce.Execute(ctx, sandbox.CodeInput{Code: "get:a"})
	if err != nil || out.Logs != "b" {
		t.Fatalf("session state: %v %q", err, out.Logs)
	}
}
