package conformance_test

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/performance"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/refine"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/sandboxtest"
)

// The composition conformance matrix: every combinator of the module
// (a subject) × every condition. See doc.go and docs/architecture.md.

var (
	errBase     = errors.New("dependency said no")
	errCause    = errors.New("request abandoned by its client")
	panicValue  = "inner step bug"
	retryHint   = time.Millisecond
	callerLimit = 20 * time.Millisecond // the caller's deadline in the deadline cells
	ignoreFor   = 40 * time.Millisecond // how long an inner step that ignores its context runs
)

// inner is the step a combinator wraps. It counts its calls; what it does
// is set by the condition.
type inner struct {
	calls atomic.Int32
	do    func(ctx context.Context, n int) (int, error)
}

func (s *inner) Execute(ctx context.Context, n int) (int, error) {
	s.calls.Add(1)
	return s.do(ctx, n)
}

// built is a subject wrapped around an inner step, with what must be
// released once the cell is done.
type built struct {
	p     primitives.Primitive[int, int]
	close func()
}

func plain(p primitives.Primitive[int, int]) built { return built{p: p, close: func() {}} }

// panicOutcome says what a combinator does with a panic of its inner step.
type panicOutcome int

const (
	// propagates: the step ran on the caller's goroutine; the panic goes
	// on to the caller with its own value, after the combinator restored
	// what it owns.
	propagates panicOutcome = iota
	// recovered: the step ran on a goroutine the combinator started; the
	// panic comes back as a *primitives.PanicError, not retryable.
	recovered
)

// subject is one row of the matrix: a combinator and the outcomes its
// documentation promises where they differ from a plain pass-through.
type subject struct {
	name string
	wrap func(p primitives.Primitive[int, int]) built

	onPanic panicOutcome
	// callsOnFailure is how many times a failing inner step runs (1 for a
	// pass-through; more for Retry and Fallback). Keyed by condition.
	callsOnFailure map[string]int32
	// retryableAfter overrides recovery.IsRetryable of the final error,
	// keyed by condition (Retry's own error is not retryable: its budget
	// is spent).
	retryableAfter map[string]bool
	// ignoring says what happens when the inner step ignores its context
	// and succeeds after the caller's deadline: the error (nil for the
	// late success being returned) and whether the combinator returns at
	// the deadline instead of waiting for the step.
	ignoringErr   error
	ignoringEarly bool
}

func subjects() []subject {
	id := primitives.Identity[int]()
	return []subject{
		{name: "Then", wrap: func(p primitives.Primitive[int, int]) built {
			return plain(primitives.Then(p, id))
		}, ignoringErr: context.DeadlineExceeded},
		{name: "Pipe3", wrap: func(p primitives.Primitive[int, int]) built {
			return plain(primitives.Pipe3(id, p, id))
		}, ignoringErr: context.DeadlineExceeded},
		{name: "Sequential", wrap: func(p primitives.Primitive[int, int]) built {
			return plain(primitives.Sequential(p, id))
		}, ignoringErr: context.DeadlineExceeded},
		{name: "Parallel", onPanic: recovered, wrap: func(p primitives.Primitive[int, int]) built {
			par := primitives.Parallel(p, id)
			return plain(primitives.Func[int, int](func(ctx context.Context, n int) (int, error) {
				outs, err := par.Execute(ctx, n)
				if err != nil {
					return 0, err
				}
				return outs[0], nil
			}))
		}},
		{name: "Conditional", wrap: func(p primitives.Primitive[int, int]) built {
			return plain(primitives.Conditional(func(context.Context, int) bool { return true }, p))
		}},
		{name: "Router", wrap: func(p primitives.Primitive[int, int]) built {
			return plain(primitives.Router(func(context.Context, int) (string, error) { return "a", nil },
				map[string]primitives.Primitive[int, int]{"a": p}))
		}},
		{name: "Instrument", wrap: func(p primitives.Primitive[int, int]) built {
			return plain(primitives.Instrument("step", p))
		}},
		{name: "Retry", wrap: func(p primitives.Primitive[int, int]) built {
			return plain(recovery.Retry(p, recovery.InitialDelay(0), recovery.MaxDelay(5*time.Millisecond)))
		},
			callsOnFailure: map[string]int32{"inner deadline": 4, "transient with Retry-After": 4},
			retryableAfter: map[string]bool{"inner deadline": false, "transient with Retry-After": false},
		},
		{name: "Fallback", wrap: func(p primitives.Primitive[int, int]) built {
			return plain(recovery.Fallback(p, p))
		}, callsOnFailure: map[string]int32{"inner deadline": 2, "permanent": 2, "transient with Retry-After": 2}},
		{name: "Timeout", wrap: func(p primitives.Primitive[int, int]) built {
			return plain(recovery.Timeout(p, time.Hour))
		}},
		{name: "Timeout/AbandonOnDeadline", onPanic: recovered, wrap: func(p primitives.Primitive[int, int]) built {
			return plain(recovery.Timeout(p, time.Hour, recovery.AbandonOnDeadline()))
		}, ignoringErr: context.DeadlineExceeded, ignoringEarly: true},
		{name: "CircuitBreaker", wrap: func(p primitives.Primitive[int, int]) built {
			return plain(recovery.CircuitBreaker(p))
		}},
		{name: "Saga", wrap: func(p primitives.Primitive[int, int]) built {
			return plain(recovery.Saga(recovery.Step(p, id)))
		}},
		{name: "Cache", onPanic: recovered, wrap: func(p primitives.Primitive[int, int]) built {
			c := performance.Cache(p)
			return built{p: c, close: func() { _ = c.Close() }}
		}, ignoringErr: context.DeadlineExceeded, ignoringEarly: true},
		{name: "Bulkhead", wrap: func(p primitives.Primitive[int, int]) built {
			return plain(performance.Bulkhead(p, 2))
		}},
		{name: "RateLimit", wrap: func(p primitives.Primitive[int, int]) built {
			return plain(performance.RateLimit(p, rate.Limit(1000), 10))
		}},
		{name: "CodeExecution", wrap: codeExecution},
		{name: "refine/generator", wrap: refineGenerator, ignoringErr: context.DeadlineExceeded},
		{name: "refine/executor", wrap: refineExecutor},
		{name: "agent/model", wrap: agentModel},
		{name: "agent/tool", onPanic: recovered, wrap: agentTool, ignoringErr: context.DeadlineExceeded},
	}
}

// agentModel runs the inner step as the model of an agent.Agent: the
// number is the task, the step's output the final answer. The model runs
// on the caller's goroutine; its error ends the run, wrapped in a
// *agent.RunError; a final answer that arrives after the caller's
// deadline is still the answer.
func agentModel(p primitives.Primitive[int, int]) built {
	model := primitives.Func[llm.Request, llm.Response](func(ctx context.Context, req llm.Request) (llm.Response, error) {
		n, _ := strconv.Atoi(req.Messages[0].Content)
		out, err := p.Execute(ctx, n)
		if err != nil {
			return llm.Response{}, err
		}
		return llm.Response{Text: strconv.Itoa(out), Stop: llm.StopEndTurn}, nil
	})
	a, err := agent.New(model)
	if err != nil {
		panic(err)
	}
	return plain(agentAdapter(a))
}

// agentTool runs the inner step as a typed tool of an agent.Agent, which a
// scripted model calls once. A tool runs on a goroutine of the agent, so
// its panic comes back as a *primitives.PanicError. An error without a
// retryable verdict (the permanent cell) is the tool's own failure, which
// the model reads as an error result while the run goes on: the adapter
// returns it from Result.Calls, where the agent keeps it as the tool
// returned it. Other errors end the run in a *agent.RunError. After a
// tool that ignores its context, the context is checked before the next
// turn.
func agentTool(p primitives.Primitive[int, int]) built {
	type in struct {
		N int `json:"n"`
	}
	step := agent.NewTool("step", "Runs the step.", func(ctx context.Context, in in) (string, error) {
		out, err := p.Execute(ctx, in.N)
		if err != nil {
			return "", err
		}
		return strconv.Itoa(out), nil
	})
	model := primitives.Func[llm.Request, llm.Response](func(_ context.Context, req llm.Request) (llm.Response, error) {
		last := req.Messages[len(req.Messages)-1]
		if len(req.Messages) == 1 {
			c := llm.ToolCall{ID: "call_1", Name: "step", Arguments: json.RawMessage(`{"n":` + last.Content + `}`)}
			return llm.Response{Content: []llm.Block{c}, ToolCalls: []llm.ToolCall{c}, Stop: llm.StopToolUse}, nil
		}
		r := last.Blocks[0].(llm.ToolResult)
		return llm.Response{Text: r.Content[0].(llm.Text).Text, Stop: llm.StopEndTurn}, nil
	})
	a, err := agent.New(model, agent.Tools(step))
	if err != nil {
		panic(err)
	}
	return plain(agentAdapter(a))
}

// agentAdapter makes an agent a step from int to int: the number is the
// task, the answer the result; a tool's own failure is returned as the
// step's error.
func agentAdapter(a *agent.Agent) primitives.Primitive[int, int] {
	return primitives.Func[int, int](func(ctx context.Context, n int) (int, error) {
		res, err := a.Execute(ctx, agent.Task(strconv.Itoa(n)))
		if err != nil {
			return 0, err
		}
		for _, c := range res.Calls {
			if c.Err != nil {
				return 0, c.Err
			}
		}
		return strconv.Atoi(res.Text)
	})
}

// refineGenerator runs the inner step as the generator of a refine.Loop:
// its error is an infrastructure failure, returned as it is; its output
// becomes the code, which the executor prints.
func refineGenerator(p primitives.Primitive[int, int]) built {
	gen := primitives.Func[refine.Request, refine.Generation](func(ctx context.Context, req refine.Request) (refine.Generation, error) {
		n, _ := strconv.Atoi(req.Requirement)
		out, err := p.Execute(ctx, n)
		if err != nil {
			return refine.Generation{}, err
		}
		return refine.Generation{Code: strconv.Itoa(out)}, nil
	})
	echo := primitives.Func[sandbox.CodeInput, sandbox.CodeOutput](func(_ context.Context, in sandbox.CodeInput) (sandbox.CodeOutput, error) {
		return sandbox.CodeOutput{Success: true, Stdout: in.Code}, nil
	})
	return plain(refineAdapter(refine.New(gen, echo)))
}

// refineExecutor runs the inner step as the executor of a refine.Loop:
// its error is an infrastructure failure, returned as it is.
func refineExecutor(p primitives.Primitive[int, int]) built {
	gen := primitives.Func[refine.Request, refine.Generation](func(_ context.Context, req refine.Request) (refine.Generation, error) {
		return refine.Generation{Code: req.Requirement}, nil
	})
	exec := primitives.Func[sandbox.CodeInput, sandbox.CodeOutput](func(ctx context.Context, in sandbox.CodeInput) (sandbox.CodeOutput, error) {
		n, _ := strconv.Atoi(in.Code)
		out, err := p.Execute(ctx, n)
		if err != nil {
			return sandbox.CodeOutput{}, err
		}
		return sandbox.CodeOutput{Success: true, Stdout: strconv.Itoa(out)}, nil
	})
	return plain(refineAdapter(refine.New(gen, exec)))
}

// refineAdapter makes a loop a step from int to int: the number is the
// requirement, the working code's output the result.
func refineAdapter(loop *refine.Loop) primitives.Primitive[int, int] {
	return primitives.Func[int, int](func(ctx context.Context, n int) (int, error) {
		res, err := loop.Execute(ctx, strconv.Itoa(n))
		if err != nil {
			return 0, err
		}
		return strconv.Atoi(res.Output.Stdout)
	})
}

// codeExecution runs the inner step as the backend of a CodeExecution: the
// sandbox's Run calls it, an error of the step is an infrastructure
// failure of the run, and its output is printed.
func codeExecution(p primitives.Primitive[int, int]) built {
	prov := sandboxtest.New(func(ctx context.Context, _ *sandboxtest.Sandbox, code string, _ sandbox.RunOptions) (*sandbox.Execution, error) {
		n, _ := strconv.Atoi(code)
		out, err := p.Execute(ctx, n)
		if err != nil {
			return nil, err
		}
		return &sandbox.Execution{Stdout: []sandbox.OutputMessage{{Text: strconv.Itoa(out)}}}, nil
	})
	exec := sandbox.NewCodeExecution(prov, sandbox.MaxSandboxes(2))
	adapter := primitives.Func[int, int](func(ctx context.Context, n int) (int, error) {
		out, err := exec.Execute(ctx, sandbox.CodeInput{Code: strconv.Itoa(n)})
		if err != nil {
			return 0, err
		}
		return strconv.Atoi(out.Stdout)
	})
	return built{p: adapter, close: func() { _ = exec.Close(context.Background()) }}
}

// cell is what one run of a subject under a condition produced.
type cell struct {
	out      int
	err      error
	panicked any
	calls    int32
	elapsed  time.Duration
	inner    *inner
}

// callsSoon is how many times the inner step ran, counted again a moment
// after Execute returned, so that work a combinator started in the
// background for a caller who had already left is seen.
func (c cell) callsSoon() int32 {
	time.Sleep(20 * time.Millisecond)
	return c.inner.calls.Load()
}

func run(s subject, ctx context.Context, do func(context.Context, int) (int, error)) cell {
	in := &inner{do: do}
	b := s.wrap(in)
	defer b.close()
	var c cell
	start := time.Now()
	func() {
		defer func() { c.panicked = recover() }()
		c.out, c.err = b.p.Execute(ctx, 7)
	}()
	c.elapsed = time.Since(start)
	c.calls = in.calls.Load()
	c.inner = in
	return c
}

func TestMatrix(t *testing.T) {
	for _, s := range subjects() {
		t.Run(s.name, func(t *testing.T) {
			for _, cond := range conditions() {
				t.Run(cond.name, func(t *testing.T) {
					before := runtime.NumGoroutine()
					done := make(chan struct{})
					go func() {
						defer close(done)
						cond.check(t, s)
					}()
					select {
					case <-done:
					case <-time.After(20 * time.Second):
						// A cell that hangs (a lease never returned, a
						// wait nobody ends) fails instead of stalling
						// the suite; its goroutines are left behind.
						t.Fatalf("%s under %q did not return within 20s", s.name, cond.name)
					}
					if !t.Failed() {
						noGoroutineLeft(t, before)
					}
				})
			}
		})
	}
}

// condition is one column of the matrix.
type condition struct {
	name  string
	check func(t *testing.T, s subject)
}

func conditions() []condition {
	return []condition{
		{"context already cancelled", func(t *testing.T, s subject) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			c := run(s, ctx, succeed)
			if calls := c.callsSoon(); c.panicked != nil || !errors.Is(c.err, context.Canceled) || calls != 0 {
				t.Fatalf("got %v (panic %v) after %d inner calls; want context.Canceled without calling it", c.err, c.panicked, calls)
			}
		}},
		{"cancelled with a cause", func(t *testing.T, s subject) {
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(errCause)
			c := run(s, ctx, succeed)
			if calls := c.callsSoon(); c.panicked != nil || !errors.Is(c.err, errCause) || calls != 0 {
				t.Fatalf("got %v (panic %v) after %d inner calls; want the cause without calling it", c.err, c.panicked, calls)
			}
		}},
		{"caller deadline passes mid-run", func(t *testing.T, s subject) {
			ctx, cancel := context.WithTimeout(context.Background(), callerLimit)
			defer cancel()
			c := run(s, ctx, func(ctx context.Context, _ int) (int, error) {
				<-ctx.Done()
				return 0, ctx.Err()
			})
			if c.panicked != nil || !errors.Is(c.err, context.DeadlineExceeded) {
				t.Fatalf("got %v (panic %v); want context.DeadlineExceeded", c.err, c.panicked)
			}
			if c.calls != 1 {
				t.Fatalf("inner ran %d times; the caller's ended context must never be retried or fallen back on", c.calls)
			}
			if c.elapsed > 5*time.Second {
				t.Fatalf("returned after %s", c.elapsed)
			}
		}},
		{"inner deadline", func(t *testing.T, s subject) {
			c := run(s, context.Background(), func(ctx context.Context, _ int) (int, error) {
				ictx, cancel := context.WithTimeout(ctx, 100*time.Microsecond)
				defer cancel()
				<-ictx.Done()
				return 0, ictx.Err()
			})
			failure(t, s, "inner deadline", c, context.DeadlineExceeded, true)
			if s.name == "Retry" && !errors.Is(c.err, recovery.ErrRetriesExhausted) {
				t.Fatalf("got %v; want the retries exhausted", c.err)
			}
		}},
		{"inner panics", func(t *testing.T, s subject) {
			c := run(s, context.Background(), func(context.Context, int) (int, error) { panic(panicValue) })
			if c.calls != 1 {
				t.Fatalf("inner ran %d times; a panic is never retried nor fallen back on", c.calls)
			}
			switch s.onPanic {
			case propagates:
				if c.panicked != panicValue {
					t.Fatalf("got %v (panic %v); want the panic to reach the caller", c.err, c.panicked)
				}
			case recovered:
				var pe *primitives.PanicError
				if c.panicked != nil || !errors.As(c.err, &pe) || pe.Value != panicValue || len(pe.Stack) == 0 {
					t.Fatalf("got %v (panic %v); want a *PanicError with the value and stack", c.err, c.panicked)
				}
				if recovery.IsRetryable(c.err) {
					t.Fatal("a recovered panic must not be retryable")
				}
			}
		}},
		{"permanent", func(t *testing.T, s subject) {
			c := run(s, context.Background(), func(context.Context, int) (int, error) {
				return 0, recovery.Permanent(errBase)
			})
			failure(t, s, "permanent", c, errBase, false)
		}},
		{"transient with Retry-After", func(t *testing.T, s subject) {
			c := run(s, context.Background(), func(context.Context, int) (int, error) {
				return 0, recovery.Transient(errBase, retryHint)
			})
			failure(t, s, "transient with Retry-After", c, errBase, true)
			if got := recovery.RetryAfter(c.err); got != retryHint {
				t.Fatalf("Retry-After %s through %s; want the inner step's %s", got, s.name, retryHint)
			}
		}},
		{"inner ignores its context", func(t *testing.T, s subject) {
			ctx, cancel := context.WithTimeout(context.Background(), callerLimit/4)
			defer cancel()
			c := run(s, ctx, func(_ context.Context, n int) (int, error) {
				time.Sleep(ignoreFor)
				return n, nil
			})
			if c.panicked != nil || c.calls != 1 {
				t.Fatalf("got %v (panic %v) after %d calls", c.err, c.panicked, c.calls)
			}
			if s.ignoringErr == nil {
				if c.err != nil || c.out != 7 {
					t.Fatalf("got %d, %v; want the late result, which arrived, returned", c.out, c.err)
				}
			} else if !errors.Is(c.err, s.ignoringErr) {
				t.Fatalf("got %d, %v; want %v", c.out, c.err, s.ignoringErr)
			}
			if early := c.elapsed < ignoreFor; early != s.ignoringEarly {
				t.Fatalf("returned after %s; documented to return early: %v", c.elapsed, s.ignoringEarly)
			}
		}},
	}
}

func succeed(_ context.Context, n int) (int, error) { return n, nil }

// failure checks a cell whose inner step failed with an error matching
// want whose own verdict is retryable.
func failure(t *testing.T, s subject, cond string, c cell, want error, retryable bool) {
	t.Helper()
	if c.panicked != nil || !errors.Is(c.err, want) {
		t.Fatalf("got %v (panic %v); want an error matching %v", c.err, c.panicked, want)
	}
	calls := int32(1)
	if n, ok := s.callsOnFailure[cond]; ok {
		calls = n
	}
	if c.calls != calls {
		t.Fatalf("inner ran %d times; want %d", c.calls, calls)
	}
	if r, ok := s.retryableAfter[cond]; ok {
		retryable = r
	}
	if got := recovery.IsRetryable(c.err); got != retryable {
		t.Fatalf("IsRetryable(%v) = %v; want %v (the inner verdict must survive %s)", c.err, got, retryable, s.name)
	}
}

// noGoroutineLeft waits until the goroutines started by a cell are gone.
func noGoroutineLeft(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines left behind (before %d, now %d):\n%s", n-before, before, n, buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Every subject is in the matrix once.
func TestMatrixNamesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range subjects() {
		if seen[s.name] {
			t.Fatalf("subject %s twice", s.name)
		}
		seen[s.name] = true
	}
	if len(seen) < 17 {
		t.Fatalf("%d subjects; every combinator of the module belongs in the matrix", len(seen))
	}
}
