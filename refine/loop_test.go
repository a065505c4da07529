package refine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/refine"
	"github.com/ttadev/primitives/sandbox"
)

const broken = "def mean(xs):\n    return sum(xs) / len(xs)\n\nprint('computing')\nprint(mean([]))\n"
const fixed = "def mean(xs):\n    return sum(xs) / len(xs) if xs else 0.0\n\nprint('computing')\nprint(mean([]))\n"

// The error of attempt 1 — its name, value, traceback and output — reaches
// the generation of attempt 2, which converges.
func TestConvergesWithTheErrorFedBack(t *testing.T) {
	gen := codes(broken, fixed)
	gen.replies[0].Usage = refine.Usage{InputTokens: 100, OutputTokens: 40}
	gen.replies[1].Usage = refine.Usage{InputTokens: 250, OutputTokens: 45, CacheReadInputTokens: 90}
	loop := refine.New(gen, python(t), quiet)

	res, err := loop.Execute(ctxT(t), "Write mean(xs) and print the mean of an empty list.")
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || res.Code != fixed || res.Output.Logs != "computing\n0.0\n" || !res.Output.Success {
		t.Fatalf("result %+v", res)
	}
	if want := (refine.Usage{InputTokens: 350, OutputTokens: 85, CacheReadInputTokens: 90}); res.Usage != want {
		t.Fatalf("usage %+v, want %+v", res.Usage, want)
	}
	if len(res.History) != 1 || res.History[0].Number != 1 || res.History[0].Code != broken {
		t.Fatalf("history %+v", res.History)
	}

	reqs := gen.requests()
	if len(reqs) != 2 || reqs[0].Attempt != 1 || len(reqs[0].History) != 0 || reqs[1].Attempt != 2 {
		t.Fatalf("requests %+v", reqs)
	}
	if reqs[0].Requirement != "Write mean(xs) and print the mean of an empty list." || reqs[0].TokensLeft != 0 {
		t.Fatalf("request 1 %+v", reqs[0])
	}
	got := reqs[1].History[0]
	if got.Code != broken || got.Reason != "ZeroDivisionError: division by zero" ||
		got.Output.ErrorName != "ZeroDivisionError" || got.Output.ErrorValue != "division by zero" ||
		got.Output.Logs != "computing\n" || got.Usage.Total() != 140 {
		t.Fatalf("attempt fed back %+v", got)
	}
	for _, want := range []string{"Traceback (most recent call last)", "line 5", "in mean", "    return sum(xs) / len(xs)\n", "ZeroDivisionError: division by zero"} {
		if !strings.Contains(got.Output.Traceback, want) {
			t.Errorf("traceback fed back lacks %q:\n%s", want, got.Output.Traceback)
		}
	}
	fb := got.Feedback()
	for _, want := range []string{"Attempt 1 failed: ZeroDivisionError: division by zero", "Traceback:\nTraceback (most recent call last)", "Output:\ncomputing\n"} {
		if !strings.Contains(fb, want) {
			t.Errorf("feedback lacks %q:\n%s", want, fb)
		}
	}
}

func TestExhaustedCarriesTheHistory(t *testing.T) {
	gen := codes("print(undefined_name)", "import nosuchmodule", "raise ValueError('still wrong')")
	loop := refine.New(gen, python(t), quiet)
	_, err := loop.Execute(ctxT(t), "anything")
	var ex *refine.ExhaustedError
	if !errors.As(err, &ex) || !errors.Is(err, refine.ErrNoWorkingCode) {
		t.Fatalf("err %v (%T)", err, err)
	}
	if recovery.IsRetryable(err) {
		t.Fatal("an exhausted loop is classified retryable")
	}
	if ex.Stop != refine.StopMaxAttempts || ex.Attempts != 3 || len(ex.History) != 3 {
		t.Fatalf("%+v", ex)
	}
	for i, want := range []string{"NameError", "ModuleNotFoundError", "ValueError"} {
		if ex.History[i].Number != i+1 || ex.History[i].Output.ErrorName != want {
			t.Errorf("attempt %d: %+v", i+1, ex.History[i])
		}
	}
	// Each traceback quotes its own program's source, not an earlier
	// attempt's that ran in the same sandbox.
	if tb := ex.History[2].Output.Traceback; !strings.Contains(tb, "raise ValueError('still wrong')") {
		t.Errorf("attempt 3's traceback does not quote its code:\n%s", tb)
	}
	if !strings.Contains(err.Error(), "after 3 attempts") || !strings.Contains(err.Error(), "ValueError: still wrong") {
		t.Fatalf("message %q", err)
	}
	if n := len(gen.requests()); n != 3 {
		t.Fatalf("%d generations; want 3", n)
	}
}

func TestMaxAttemptsOne(t *testing.T) {
	gen := codes("1/0", "print('never asked')")
	_, err := refine.New(gen, python(t), refine.MaxAttempts(1), quiet).Execute(ctxT(t), "x")
	var ex *refine.ExhaustedError
	if !errors.As(err, &ex) || ex.Attempts != 1 || len(gen.requests()) != 1 {
		t.Fatalf("err %v, %d generations", err, len(gen.requests()))
	}
	if !strings.Contains(err.Error(), "after 1 attempt;") {
		t.Fatalf("message %q", err)
	}
}

// The budget is checked before each generation: 600 tokens per attempt
// against 1000 leaves 400 for attempt 2 and stops before attempt 3.
func TestTokenBudget(t *testing.T) {
	gen := codes("1/0")
	gen.replies[0].Usage = refine.Usage{InputTokens: 500, OutputTokens: 100}
	_, err := refine.New(gen, python(t), refine.MaxAttempts(5), refine.TokenBudget(1000), quiet).Execute(ctxT(t), "x")
	var ex *refine.ExhaustedError
	if !errors.As(err, &ex) || ex.Stop != refine.StopTokenBudget || ex.Attempts != 2 || ex.Usage.Total() != 1200 {
		t.Fatalf("err %v %+v", err, ex)
	}
	reqs := gen.requests()
	if len(reqs) != 2 || reqs[0].TokensLeft != 1000 || reqs[1].TokensLeft != 400 {
		t.Fatalf("requests %+v", reqs)
	}
	if !strings.Contains(err.Error(), "token budget spent: 1200 tokens") {
		t.Fatalf("message %q", err)
	}
}

// Working code is returned even when its generation passed the budget.
func TestBudgetDoesNotRefuseWorkingCode(t *testing.T) {
	gen := codes("print(1)")
	gen.replies[0].Usage = refine.Usage{OutputTokens: 5000}
	res, err := refine.New(gen, python(t), refine.TokenBudget(10), quiet).Execute(ctxT(t), "x")
	if err != nil || res.Attempts != 1 || res.Usage.OutputTokens != 5000 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestTestsMustPass(t *testing.T) {
	tests := "assert add(2, 3) == 5, 'add(2, 3) should be 5'\nassert add(-1, 1) == 0\nprint('tests passed')"
	gen := codes("def add(a, b):\n    return a - b", "def add(a, b):\n    return a + b")
	res, err := refine.New(gen, python(t), refine.Tests(tests), quiet).Execute(ctxT(t), "add")
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || res.Code != "def add(a, b):\n    return a + b" || res.Output.Logs != "tests passed\n" {
		t.Fatalf("%+v", res)
	}
	reqs := gen.requests()
	if reqs[0].Tests != tests || reqs[1].History[0].Reason != "AssertionError: add(2, 3) should be 5" {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestValidator(t *testing.T) {
	var calls atomic.Int32
	wants42 := primitives.Func[sandbox.CodeOutput, refine.Verdict](func(_ context.Context, out sandbox.CodeOutput) (refine.Verdict, error) {
		calls.Add(1)
		if strings.TrimSpace(out.Stdout) != "42" {
			return refine.Fail(fmt.Sprintf("printed %q; the answer is 42", strings.TrimSpace(out.Stdout))), nil
		}
		return refine.Pass(), nil
	})
	gen := codes("print(6*9)", "print(6*", "print(6*7)")
	res, err := refine.New(gen, python(t), refine.Validate(wants42), quiet).Execute(ctxT(t), "the answer")
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 || calls.Load() != 2 {
		t.Fatalf("attempts %d, validator calls %d (a failed execution is not validated)", res.Attempts, calls.Load())
	}
	h := res.History
	if h[0].Reason != `printed "54"; the answer is 42` || h[0].Output.Stdout != "54\n" || !strings.HasPrefix(h[1].Reason, "SyntaxError") {
		t.Fatalf("history %+v", h)
	}
}

// A Go error from the generator is not an attempt: it comes back as it
// is, with its classification.
func TestGeneratorErrorIsReturnedAsIs(t *testing.T) {
	limit := recovery.Transient(errors.New("429 rate limited"), 2*time.Second)
	gen := codes("1/0")
	gen.errs = map[int]error{1: limit}
	_, err := refine.New(gen, python(t), quiet).Execute(ctxT(t), "x")
	if err != limit {
		t.Fatalf("err %v (%T); want the generator's own error", err, err)
	}
	if !recovery.IsRetryable(err) || recovery.RetryAfter(err) != 2*time.Second {
		t.Fatal("classification lost")
	}
}

// recovery.Retry around the generator absorbs a transient failure without
// costing an attempt.
func TestRetryAroundTheGenerator(t *testing.T) {
	gen := codes("print('ok')")
	gen.errs = map[int]error{0: recovery.Transient(errors.New("503"), 0)}
	retried := recovery.Retry[refine.Request, refine.Generation](gen, recovery.MaxRetries(2), recovery.Constant(), recovery.InitialDelay(time.Millisecond), quiet)
	res, err := refine.New(retried, python(t), refine.MaxAttempts(1), quiet).Execute(ctxT(t), "x")
	if err != nil || res.Attempts != 1 || len(gen.requests()) != 2 {
		t.Fatalf("%+v %v generations %d", res, err, len(gen.requests()))
	}
}

func TestExecutorAndValidatorErrorsAreReturnedAsIs(t *testing.T) {
	lost := errors.New("sandbox connection lost")
	exec := primitives.Func[sandbox.CodeInput, sandbox.CodeOutput](func(context.Context, sandbox.CodeInput) (sandbox.CodeOutput, error) {
		return sandbox.CodeOutput{}, lost
	})
	if _, err := refine.New(codes("print(1)"), exec, quiet).Execute(ctxT(t), "x"); err != lost {
		t.Fatalf("executor: %v", err)
	}
	broke := errors.New("validator backend down")
	v := primitives.Func[sandbox.CodeOutput, refine.Verdict](func(context.Context, sandbox.CodeOutput) (refine.Verdict, error) {
		return refine.Verdict{}, broke
	})
	if _, err := refine.New(codes("print(1)"), python(t), refine.Validate(v), quiet).Execute(ctxT(t), "x"); err != broke {
		t.Fatalf("validator: %v", err)
	}
	// Bad input from the executor (the code is sent as generated) stays an error.
	bad := refine.New(codes("print(1)"), python(t), refine.BaseInput(sandbox.CodeInput{Timeout: -time.Second}), quiet)
	var invalid *recovery.InvalidInputError
	if _, err := bad.Execute(ctxT(t), "x"); !errors.As(err, &invalid) {
		t.Fatalf("negative timeout: %v", err)
	}
}

// Code that runs past its time limit is the code's failure: an attempt.
func TestTimeoutIsAnAttempt(t *testing.T) {
	gen := codes("while True:\n    pass", "print('done')")
	loop := refine.New(gen, python(t), refine.BaseInput(sandbox.CodeInput{Timeout: 300 * time.Millisecond}), quiet)
	res, err := loop.Execute(ctxT(t), "x")
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || res.History[0].Reason != "TimeoutError: the code did not finish within its time limit of 300ms" {
		t.Fatalf("%+v", res)
	}
}

// The caller's own deadline is not an attempt.
func TestCallerDeadlineIsNotAnAttempt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	gen := codes("while True:\n    pass")
	_, err := refine.New(gen, python(t), quiet).Execute(ctx, "x")
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, refine.ErrNoWorkingCode) || len(gen.requests()) != 1 {
		t.Fatalf("err %v, generations %d", err, len(gen.requests()))
	}
}

func TestReplyWithoutCode(t *testing.T) {
	var runs atomic.Int32
	exec := python(t)
	counted := primitives.Func[sandbox.CodeInput, sandbox.CodeOutput](func(ctx context.Context, in sandbox.CodeInput) (sandbox.CodeOutput, error) {
		runs.Add(1)
		return exec.Execute(ctx, in)
	})
	gen := codes("  \n", "print('x')")
	res, err := refine.New(gen, counted, quiet).Execute(ctxT(t), "x")
	if err != nil || res.Attempts != 2 || runs.Load() != 1 || res.History[0].Reason != "the reply contained no Python code" {
		t.Fatalf("%+v %v runs=%d", res, err, runs.Load())
	}
}

func TestContextCheckedBeforeEachStep(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	why := errors.New("user pressed stop")
	cancel(why)
	gen := codes("print(1)")
	if _, err := refine.New(gen, python(t), quiet).Execute(ctx, "x"); err != why || len(gen.requests()) != 0 {
		t.Fatalf("err %v, generations %d", err, len(gen.requests()))
	}

	// Cancelled during generation: the execution does not start.
	ctx, cancel = context.WithCancelCause(context.Background())
	var ran atomic.Bool
	exec := primitives.Func[sandbox.CodeInput, sandbox.CodeOutput](func(context.Context, sandbox.CodeInput) (sandbox.CodeOutput, error) {
		ran.Store(true)
		return sandbox.CodeOutput{Success: true}, nil
	})
	g := primitives.Func[refine.Request, refine.Generation](func(context.Context, refine.Request) (refine.Generation, error) {
		cancel(why)
		return refine.Generation{Code: "print(1)"}, nil
	})
	if _, err := refine.New(g, exec, quiet).Execute(ctx, "x"); err != why || ran.Load() {
		t.Fatalf("err %v, executed %v", err, ran.Load())
	}
}

// A long output is cut in the history, keeping its end.
func TestFeedbackIsCut(t *testing.T) {
	code := "for i in range(800):\n    print('line', i)\nraise RuntimeError('x' * 5000)"
	gen := codes(code, "print(1)")
	res, err := refine.New(gen, python(t), refine.FeedbackLimit(300), quiet).Execute(ctxT(t), "x")
	if err != nil {
		t.Fatal(err)
	}
	out := res.History[0].Output
	if len(out.Logs) > 330 || !strings.HasPrefix(out.Logs, "[... ") || !strings.HasSuffix(out.Logs, "line 799\n") {
		t.Fatalf("logs (%d bytes) %q", len(out.Logs), out.Logs)
	}
	if len(out.ErrorValue) > 330 || !strings.HasPrefix(out.ErrorValue, "xxx") || !strings.HasSuffix(out.ErrorValue, "bytes cut]") {
		t.Fatalf("error value %q", out.ErrorValue)
	}
	if r := res.History[0].Reason; !strings.HasPrefix(r, "RuntimeError: xxx") || len(r) > 330 {
		t.Fatalf("reason %q", r)
	}
	if tb := out.Traceback; len(tb) > 330 || !strings.HasPrefix(tb, "[... ") || !strings.HasSuffix(tb, "xxxx\n") {
		t.Fatalf("traceback %q", tb)
	}
}

// A generator that appends to the history it was given does not change
// the loop's.
func TestHistoryIsNotShared(t *testing.T) {
	var seen []int
	g := primitives.Func[refine.Request, refine.Generation](func(_ context.Context, req refine.Request) (refine.Generation, error) {
		seen = append(seen, len(req.History))
		_ = append(req.History, refine.Attempt{Number: 99, Reason: "forged"})
		return refine.Generation{Code: "1/0"}, nil
	})
	_, err := refine.New(g, python(t), quiet).Execute(ctxT(t), "x")
	var ex *refine.ExhaustedError
	if !errors.As(err, &ex) {
		t.Fatal(err)
	}
	for i, a := range ex.History {
		if a.Number != i+1 || a.Reason == "forged" {
			t.Fatalf("history %+v", ex.History)
		}
	}
	if fmt.Sprint(seen) != "[0 1 2]" {
		t.Fatalf("history lengths seen %v", seen)
	}
}

// One loop serves concurrent runs.
func TestConcurrentRuns(t *testing.T) {
	loop := refine.New(codes("1/0", "print('ok')"), python(t), refine.MaxAttempts(4), quiet)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			res, err := loop.Execute(ctxT(t), "x")
			if err == nil && res.Output.Logs != "ok\n" {
				err = fmt.Errorf("output %q", res.Output.Logs)
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
}

// FromText extracts the code of a text reply; BaseInput's environment
// reaches the execution.
func TestFromTextAndBaseInput(t *testing.T) {
	var replies []string
	text := primitives.Func[refine.Request, string](func(_ context.Context, req refine.Request) (string, error) {
		r := "Sure:\n```python\nimport os\nprint(os.environ['GREETING'], undefined)\n```"
		if req.Attempt > 1 {
			r = "Fixed:\n```python\nimport os\nprint(os.environ['GREETING'])\n```\nThat prints the greeting."
		}
		replies = append(replies, r)
		return r, nil
	})
	loop := refine.New(refine.FromText(text), python(t),
		refine.BaseInput(sandbox.CodeInput{Code: "ignored", Env: map[string]string{"GREETING": "hello"}}), quiet)
	res, err := loop.Execute(ctxT(t), "greet")
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || res.Output.Logs != "hello\n" || res.Code != "import os\nprint(os.environ['GREETING'])" || len(replies) != 2 {
		t.Fatalf("%+v", res)
	}
	if res.History[0].Reason != "NameError: name 'undefined' is not defined" {
		t.Fatalf("history %+v", res.History)
	}
}
