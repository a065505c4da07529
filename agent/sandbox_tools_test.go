package agent_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

var (
	localOnce sync.Once
	localProv *local.Provider
	localErr  error
)

// localProvider is the real local sandbox, shared by the tests.
func localProvider(t testing.TB) *local.Provider {
	t.Helper()
	localOnce.Do(func() { localProv, localErr = local.New(quiet) })
	if localErr != nil {
		t.Fatalf("local sandbox: %v", localErr)
	}
	return localProv
}

// counting is the local sandbox, counting the sandboxes created and
// closed, so a test can see the session's life.
type counting struct {
	sandbox.Provider
	created, closed atomic.Int32
	ids             sync.Map
}

func (c *counting) Create(ctx context.Context, opts sandbox.CreateOptions) (sandbox.Sandbox, error) {
	sb, err := c.Provider.Create(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.created.Add(1)
	return &countedSandbox{Sandbox: sb, c: c}, nil
}

type countedSandbox struct {
	sandbox.Sandbox
	c    *counting
	once sync.Once
}

func (s *countedSandbox) Close(ctx context.Context) error {
	s.once.Do(func() { s.c.closed.Add(1) })
	return s.Sandbox.Close(ctx)
}

func newCounting(t testing.TB) *counting { return &counting{Provider: localProvider(t)} }

// report decodes the JSON text of a run_code result.
type report struct {
	Success bool   `json:"success"`
	Stdout  string `json:"stdout"`
	Stderr  string `json:"stderr"`
	Result  string `json:"result"`
	Error   *struct {
		Name, Value, Traceback string
	} `json:"error"`
	Images int    `json:"images"`
	Note   string `json:"note"`
}

func decodeReport(t testing.TB, r llm.ToolResult) report {
	t.Helper()
	var rep report
	if len(r.Content) == 0 {
		t.Fatalf("empty result %+v", r)
	}
	tx, ok := r.Content[0].(llm.Text)
	if !ok || json.Unmarshal([]byte(tx.Text), &rep) != nil {
		t.Fatalf("result %+v is not a JSON report", r)
	}
	return rep
}

func code(id, src string) llm.ToolCall {
	return call(id, agent.ToolRunCode, map[string]string{"code": src})
}

// State persists between run_code calls of one run: one session, closed
// when the run ends.
func TestRunCodeKeepsState(t *testing.T) {
	prov := newCounting(t)
	model := newScript(t,
		replies(toolUse("", code("c1", "import math\nx = 41\nprint('set', x)"))),
		func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
			rep := decodeReport(t, results(t, req)[0])
			if !rep.Success || rep.Stdout != "set 41\n" || rep.Result != "" {
				t.Errorf("first cell %+v", rep)
			}
			return toolUse("", code("c2", "x + 1"), code("c3", "math.sqrt(x + 8)")), nil
		},
		func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
			rs := results(t, req)
			if r := decodeReport(t, rs[0]); !r.Success || r.Result != "42" {
				t.Errorf("second cell %+v", r)
			}
			if r := decodeReport(t, rs[1]); r.Result != "7.0" {
				t.Errorf("third cell %+v", r)
			}
			return answer("42"), nil
		})
	a := mustNew(t, model, agent.Tools(agent.SandboxTools(prov)...))
	res, err := a.Execute(ctxT(t), agent.Task("compute"))
	if err != nil || res.Text != "42" {
		t.Fatalf("%+v, %v", res, err)
	}
	if c, d := prov.created.Load(), prov.closed.Load(); c != 1 || d != 1 {
		t.Fatalf("%d sandboxes created, %d closed; want one session, closed at the end", c, d)
	}
	// A second run gets a fresh session: x is gone.
	model2 := newScript(t, replies(toolUse("", code("c", "x"))), func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
		if r := decodeReport(t, results(t, req)[0]); r.Error == nil || r.Error.Name != "NameError" {
			t.Errorf("x in a new run: %+v", r)
		}
		return answer("gone"), nil
	})
	if _, err := mustNew(t, model2, agent.Tools(agent.SandboxTools(prov)...)).Execute(ctxT(t), agent.Task("x?")); err != nil {
		t.Fatal(err)
	}
	if c, d := prov.created.Load(), prov.closed.Load(); c != 2 || d != 2 {
		t.Fatalf("%d created, %d closed", c, d)
	}
}

// An exception of the model's code is a normal result the model reads.
func TestRunCodeExceptionIsAResult(t *testing.T) {
	model := newScript(t,
		replies(toolUse("", code("c", "print('before')\ndef f():\n    return 1 / 0\nf()"))),
		func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
			r := results(t, req)[0]
			rep := decodeReport(t, r)
			if r.IsError || rep.Success || rep.Stdout != "before\n" || rep.Error == nil || rep.Error.Name != "ZeroDivisionError" ||
				rep.Error.Value != "division by zero" || !strings.Contains(rep.Error.Traceback, "in f") {
				t.Errorf("result %+v: %+v", r, rep)
			}
			return answer("fixed"), nil
		})
	res, err := mustNew(t, model, agent.Tools(agent.SandboxTools(localProvider(t))...)).Execute(ctxT(t), agent.Task("go"))
	if err != nil || res.Calls[0].IsError || res.Calls[0].Err != nil {
		t.Fatalf("%+v, %v", res.Calls, err)
	}
}

// A matplotlib figure left open comes back as a PNG image block.
func TestRunCodeMatplotlibImage(t *testing.T) {
	src := "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.title('squares')\nprint('plotted')"
	model := newScript(t,
		replies(toolUse("", code("c", src))),
		func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
			r := results(t, req)[0]
			rep := decodeReport(t, r)
			if !rep.Success || rep.Images != 1 || len(r.Content) != 2 || rep.Stdout != "plotted\n" {
				t.Fatalf("result %s", text(r.Content))
			}
			img, ok := r.Content[1].(llm.Image)
			if !ok || img.MediaType != "image/png" {
				t.Fatalf("block %T", r.Content[1])
			}
			pic, err := png.Decode(bytes.NewReader(img.Data))
			if err != nil || pic.Bounds().Dx() < 100 || pic.Bounds().Dy() < 100 {
				t.Fatalf("the image is not a plot: %v", err)
			}
			// The figure was closed: the next cell returns no image.
			return toolUse("", code("c2", "print(len(plt.get_fignums()))")), nil
		},
		func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
			r := results(t, req)[0]
			if rep := decodeReport(t, r); rep.Stdout != "0\n" || rep.Images != 0 || len(r.Content) != 1 {
				t.Errorf("second cell %+v", rep)
			}
			return answer("a parabola"), nil
		})
	if _, err := mustNew(t, model, agent.Tools(agent.SandboxTools(localProvider(t))...)).Execute(ctxT(t), agent.Task("plot")); err != nil {
		t.Fatal(err)
	}
}

// Files move in and out of the session, text and binary, and an image
// file reads as an image.
func TestFiles(t *testing.T) {
	binary := []byte{0, 1, 2, 0xff, 0xfe, '\n', '"', '\\'}
	model := newScript(t,
		replies(toolUse("",
			call("w1", agent.ToolWriteFile, map[string]string{"path": "data/notes.txt", "content": "héllo\n\"quoted\" \\ line\n"}),
			call("w2", agent.ToolWriteFile, map[string]string{"path": "bin.dat", "content": base64.StdEncoding.EncodeToString(binary), "encoding": "base64"}),
			code("c", "import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.savefig('plot.png')\nplt.close('all')\nopen('bin.dat','rb').read() == "+pyBytes(binary)),
			call("r1", agent.ToolReadFile, map[string]string{"path": "data/notes.txt"}),
			call("r2", agent.ToolReadFile, map[string]string{"path": "bin.dat"}),
			call("r3", agent.ToolReadFile, map[string]string{"path": "plot.png"}),
			call("r4", agent.ToolReadFile, map[string]string{"path": "missing.txt"}),
			call("w3", agent.ToolWriteFile, map[string]string{"path": "x", "content": "!!", "encoding": "base64"}),
		)),
		func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
			rs := results(t, req)
			if !strings.HasPrefix(text(rs[0].Content), "wrote 23 bytes to /") || !strings.HasSuffix(text(rs[0].Content), "/data/notes.txt") {
				t.Errorf("write text: %q", text(rs[0].Content))
			}
			if !strings.HasPrefix(text(rs[1].Content), "wrote 8 bytes to ") {
				t.Errorf("write binary: %q", text(rs[1].Content))
			}
			if rep := decodeReport(t, rs[2]); rep.Result != "True" || rep.Images != 0 {
				t.Errorf("check in Python: %s", text(rs[2].Content))
			}
			if got := text(rs[3].Content); got != "héllo\n\"quoted\" \\ line\n" {
				t.Errorf("read text: %q", got)
			}
			if got := text(rs[4].Content); !strings.Contains(got, "is binary (8 bytes)") || !strings.HasSuffix(got, base64.StdEncoding.EncodeToString(binary)) {
				t.Errorf("read binary: %q", got)
			}
			if len(rs[5].Content) != 2 || rs[5].Content[1].(llm.Image).MediaType != "image/png" {
				t.Errorf("read image: %+v", rs[5].Content)
			} else if _, err := png.Decode(bytes.NewReader(rs[5].Content[1].(llm.Image).Data)); err != nil {
				t.Errorf("read image: %v", err)
			}
			if !rs[6].IsError || !strings.Contains(text(rs[6].Content), "reading missing.txt failed: FileNotFoundError") {
				t.Errorf("read missing: %+v", rs[6])
			}
			if !rs[7].IsError || !strings.Contains(text(rs[7].Content), "not valid base64") {
				t.Errorf("bad base64: %+v", rs[7])
			}
			return answer("done"), nil
		})
	if _, err := mustNew(t, model, agent.Tools(agent.SandboxTools(localProvider(t))...)).Execute(ctxT(t), agent.Task("files")); err != nil {
		t.Fatal(err)
	}
}

func pyBytes(b []byte) string {
	var parts []string
	for _, c := range b {
		parts = append(parts, strconv.Itoa(int(c)))
	}
	return "bytes([" + strings.Join(parts, ",") + "])"
}

// Code that kills its interpreter is the code's failure: the model reads
// it, and the next call gets a fresh session.
func TestCrashRestartsTheSession(t *testing.T) {
	prov := newCounting(t)
	model := newScript(t,
		replies(toolUse("", code("c1", "x = 1"), code("c2", "import os\nprint('bye', flush=True)\nos._exit(3)"), code("c3", "x"))),
		func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
			rs := results(t, req)
			if !rs[1].IsError || !strings.Contains(text(rs[1].Content), "The session was restarted") {
				t.Errorf("crash result %+v", rs[1])
			}
			if rep := decodeReport(t, rs[2]); rep.Error == nil || rep.Error.Name != "NameError" {
				t.Errorf("after the crash: %+v", rep)
			}
			return answer("ok"), nil
		})
	res, err := mustNew(t, model, agent.Tools(agent.SandboxTools(prov)...)).Execute(ctxT(t), agent.Task("go"))
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.Calls[1].Err, sandbox.ErrCrashed) {
		t.Fatalf("crash call error %v", res.Calls[1].Err)
	}
	if c, d := prov.created.Load(), prov.closed.Load(); c != 2 || d != 2 {
		t.Fatalf("%d created, %d closed; want the crashed session replaced and both closed", c, d)
	}
}

// Code that runs past its time limit is stopped and the model told.
func TestTimeoutRestartsTheSession(t *testing.T) {
	model := newScript(t,
		replies(toolUse("", code("c1", "import time\nprint('start', flush=True)\ntime.sleep(30)"), code("c2", "1 + 1"))),
		func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
			rs := results(t, req)
			if !rs[0].IsError || !strings.Contains(text(rs[0].Content), "time limit of 1s") {
				t.Errorf("timeout result %+v", rs[0])
			}
			if rep := decodeReport(t, rs[1]); rep.Result != "2" {
				t.Errorf("after the timeout: %+v", rep)
			}
			return answer("ok"), nil
		})
	start := time.Now()
	tools := agent.SandboxTools(localProvider(t), agent.CodeTimeout(time.Second))
	if _, err := mustNew(t, model, agent.Tools(tools...)).Execute(ctxT(t), agent.Task("go")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("took %s", d)
	}
}

// The session is closed when the run ends on an error or a cancellation.
func TestSessionClosedOnFailures(t *testing.T) {
	prov := newCounting(t)
	model := newScript(t, replies(toolUse("", code("c", "y = 2"))),
		func(testing.TB, context.Context, llm.Request) (llm.Response, error) {
			return llm.Response{}, &llm.APIError{Provider: "scripted", Status: 500}
		})
	if _, err := mustNew(t, model, agent.Tools(agent.SandboxTools(prov)...)).Execute(ctxT(t), agent.Task("go")); err == nil {
		t.Fatal("the model's error was lost")
	}
	if c, d := prov.created.Load(), prov.closed.Load(); c != 1 || d != 1 {
		t.Fatalf("after a model error: %d created, %d closed", c, d)
	}

	ctx, cancel := context.WithCancel(ctxT(t))
	model = newScript(t, func(_ testing.TB, _ context.Context, _ llm.Request) (llm.Response, error) {
		time.AfterFunc(300*time.Millisecond, cancel)
		return toolUse("", code("c", "import time\ntime.sleep(20)")), nil
	})
	start := time.Now()
	_, err := mustNew(t, model, agent.Tools(agent.SandboxTools(prov)...)).Execute(ctx, agent.Task("go"))
	if !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
		t.Fatalf("got %v after %s; want the cancellation, soon", err, time.Since(start))
	}
	if c, d := prov.created.Load(), prov.closed.Load(); c != 2 || d != 2 {
		t.Fatalf("after a cancellation: %d created, %d closed", c, d)
	}
}

// Outside a run, each call has a session of its own.
func TestSandboxToolOutsideARun(t *testing.T) {
	prov := newCounting(t)
	run := agent.SandboxTools(prov)[0]
	if _, ok := run.(agent.Serial); !ok || run.Definition().Name != agent.ToolRunCode {
		t.Fatal("run_code is not the first, serial tool")
	}
	out, err := run.Call(ctxT(t), json.RawMessage(`{"code": "6 * 7"}`))
	if err != nil || !strings.Contains(text(out), `"result":"42"`) {
		t.Fatalf("%v, %v", text(out), err)
	}
	if c, d := prov.created.Load(), prov.closed.Load(); c != 1 || d != 1 {
		t.Fatalf("%d created, %d closed", c, d)
	}
	if _, err := run.Call(ctxT(t), json.RawMessage(`{"code": "  "}`)); !errors.As(err, new(*agent.ToolError)) {
		t.Fatalf("blank code: %v", err)
	}
}

// A sandbox that cannot be created is a failure of infrastructure: the
// run ends with it.
func TestCreateFailureEndsTheRun(t *testing.T) {
	down := errors.New("no sandbox for you")
	model := newScript(t, replies(toolUse("", code("c", "1"))))
	_, err := mustNew(t, model, agent.Tools(agent.SandboxTools(failingProvider{down})...)).Execute(ctxT(t), agent.Task("go"))
	var re *agent.RunError
	if !errors.As(err, &re) || !errors.Is(err, down) || re.Tool != agent.ToolRunCode {
		t.Fatalf("got %v", err)
	}
}

type failingProvider struct{ err error }

func (failingProvider) Name() string { return "failing" }
func (p failingProvider) Create(context.Context, sandbox.CreateOptions) (sandbox.Sandbox, error) {
	return nil, p.err
}

// Code that goes over a limit of its sandbox (the local sandbox's memory
// budget) is the code's failure: the model reads the *sandbox.LimitError's
// message, and the next call gets a fresh session.
func TestSandboxLimitIsTheCodesFailure(t *testing.T) {
	prov, err := local.New(quiet, local.WithMemoryBudget(128<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer prov.Close()
	model := newScript(t,
		replies(toolUse("", code("c1", "x = 1\nprint('allocating', flush=True)\nb = bytearray(600 << 20)"), code("c2", "'x' in globals()"))),
		func(t testing.TB, _ context.Context, req llm.Request) (llm.Response, error) {
			rs := results(t, req)
			if !rs[0].IsError || !strings.Contains(text(rs[0].Content), "over its budget of 128.0 MiB") ||
				!strings.Contains(text(rs[0].Content), "The session was restarted") || !strings.Contains(text(rs[0].Content), "allocating") {
				t.Errorf("limit result %s", text(rs[0].Content))
			}
			if rep := decodeReport(t, rs[1]); rep.Result != "False" {
				t.Errorf("after the limit: %+v", rep)
			}
			return answer("too big"), nil
		})
	res, err := mustNew(t, model, agent.Tools(agent.SandboxTools(prov)...)).Execute(ctxT(t), agent.Task("go"))
	if err != nil {
		t.Fatal(err)
	}
	var le *sandbox.LimitError
	if !errors.As(res.Calls[0].Err, &le) || le.Resource != "memory" {
		t.Fatalf("call error %v", res.Calls[0].Err)
	}
}
