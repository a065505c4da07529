//go:build linux

package local

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

func TestRunCapturesOutputAtFileDescriptorLevelInOrder(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	ex := mustSucceed(t, s, `import os, subprocess, sys
print("one")
os.system("echo two")
subprocess.run(["/bin/sh", "-c", "echo three; echo err-sh >&2"])
print("four", file=sys.stderr)
os.write(1, b"five\n")`)
	if got, want := ex.StdoutText(), "one\ntwo\nthree\nfive\n"; got != want {
		t.Fatalf("stdout = %q, want %q", got, want)
	}
	if got, want := ex.StderrText(), "err-sh\nfour\n"; got != want {
		t.Fatalf("stderr = %q, want %q", got, want)
	}
	for _, c := range ex.Stderr {
		if !c.Error || c.Timestamp.IsZero() {
			t.Fatalf("stderr chunk %+v: want Error=true and a timestamp", c)
		}
	}
}

func TestRunLastExpressionIsMainResult(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	cases := []struct{ code, text string }{
		{"1+1", "2"},
		{"x = 5\nx * 2", "10"},
		{"'a' + 'b'", "'ab'"},
		{"[i*i for i in range(4)]", "[0, 1, 4, 9]"},
		{"y = 3", ""},      // a statement has no result
		{"None", ""},       // None is not displayed
		{"print('p')", ""}, // print returns None
		{"# only a comment", ""},
	}
	for _, c := range cases {
		ex := mustSucceed(t, s, c.code)
		if ex.Text() != c.text {
			t.Errorf("%q: Text() = %q, want %q", c.code, ex.Text(), c.text)
		}
		if c.text != "" && (len(ex.Results) != 1 || !ex.Results[0].IsMainResult) {
			t.Errorf("%q: results %+v, want one main result", c.code, ex.Results)
		}
	}
}

func TestRunRichResultFormats(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	ex := mustSucceed(t, s, `class T:
    def __repr__(self): return "T()"
    def _repr_html_(self): return "<b>t</b>"
    def _repr_json_(self): return {"a": 1}
T()`)
	if len(ex.Results) != 1 {
		t.Fatalf("results = %+v", ex.Results)
	}
	r := ex.Results[0]
	if r.Text != "T()" || r.HTML != "<b>t</b>" || string(r.JSON) != `{"a": 1}` {
		t.Fatalf("result = %+v (json %s)", r, r.JSON)
	}
}

func TestRunStatePersistsAndCountIncrements(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	ex1 := mustSucceed(t, s, "import math\ncounter = 1\ndef f(x): return x + counter")
	ex2 := mustSucceed(t, s, "counter += 1\nf(10), math.pi > 3")
	if ex2.Text() != "(12, True)" {
		t.Fatalf("Text = %q", ex2.Text())
	}
	if ex1.ExecutionCount != 1 || ex2.ExecutionCount != 2 {
		t.Fatalf("counts = %d, %d", ex1.ExecutionCount, ex2.ExecutionCount)
	}
	ex3 := run(t, s, "1/0")
	if ex3.ExecutionCount != 3 {
		t.Fatalf("count after an error = %d, want 3", ex3.ExecutionCount)
	}
}

func TestRunExceptionIsResultWithUserFramesOnly(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	mustSucceed(t, s, "def boom(n):\n    raise ValueError(f'bad {n}')")
	var cb []sandbox.ExecutionError
	ex, err := s.Run(context.Background(), "x = 1\nboom(x)", sandbox.RunOptions{
		OnError: func(e sandbox.ExecutionError) { cb = append(cb, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	e := ex.Error
	if e == nil || e.Name != "ValueError" || e.Value != "bad 1" {
		t.Fatalf("error = %+v", e)
	}
	for _, want := range []string{"Traceback (most recent call last)", "<cell-2>", "boom(x)", "raise ValueError(f'bad {n}')", "ValueError: bad 1"} {
		if !strings.Contains(e.Traceback, want) {
			t.Errorf("traceback lacks %q:\n%s", want, e.Traceback)
		}
	}
	for _, worker := range []string{"<string>", "_run", "_serve", "exec(compile"} {
		if strings.Contains(e.Traceback, worker) {
			t.Errorf("traceback shows the worker's frame %q:\n%s", worker, e.Traceback)
		}
	}
	if len(cb) != 1 || cb[0] != *e {
		t.Fatalf("OnError calls = %+v", cb)
	}
	if e.String() != "ValueError: bad 1" {
		t.Fatalf("String() = %q", e.String())
	}
}

func TestRunSyntaxError(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	ex := run(t, s, "print('ok')\ndef (:")
	if ex.Error == nil || ex.Error.Name != "SyntaxError" {
		t.Fatalf("error = %+v", ex.Error)
	}
	if ex.StdoutText() != "" {
		t.Fatalf("a cell with a syntax error ran: %q", ex.StdoutText())
	}
	if strings.Contains(ex.Error.Traceback, "<string>") {
		t.Fatalf("traceback shows worker frames:\n%s", ex.Error.Traceback)
	}
}

func TestRunSystemExitIsAResult(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	ex := run(t, s, "import sys\nprint('before')\nsys.exit(3)")
	if ex.Error == nil || ex.Error.Name != "SystemExit" || ex.Error.Value != "3" {
		t.Fatalf("error = %+v", ex.Error)
	}
	if ex.StdoutText() != "before\n" {
		t.Fatalf("stdout = %q", ex.StdoutText())
	}
	ex = run(t, s, "exit()")
	if ex.Error == nil || ex.Error.Name != "SystemExit" {
		t.Fatalf("exit(): error = %+v", ex.Error)
	}
	if ex := mustSucceed(t, s, "'still here'"); ex.Text() != "'still here'" {
		t.Fatalf("after SystemExit: %q", ex.Text())
	}
}

func TestRunEnvIsPerRunAndReverted(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{Env: map[string]string{"BASE": "b", "OVER": "base"}})
	ex, err := s.Run(context.Background(), "import os\nos.environ.get('RUNVAR'), os.environ['BASE'], os.environ['OVER']",
		sandbox.RunOptions{Env: map[string]string{"RUNVAR": "r", "OVER": "run"}})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Text() != "('r', 'b', 'run')" {
		t.Fatalf("with run env: %q", ex.Text())
	}
	ex = mustSucceed(t, s, "os.environ.get('RUNVAR'), os.environ['OVER'], os.environ['HOME'], os.getcwd()")
	if ex.Text() != "(None, 'base', '/work', '/work')" {
		t.Fatalf("after the run: %q", ex.Text())
	}
}

func TestRunRejectsOtherLanguages(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	_, err := s.Run(context.Background(), "console.log(1)", sandbox.RunOptions{Language: "javascript"})
	var ule *sandbox.UnsupportedLanguageError
	if !errors.As(err, &ule) || ule.Language != "javascript" || recovery.IsRetryable(err) {
		t.Fatalf("err = %v", err)
	}
	if ex, err := s.Run(context.Background(), "1", sandbox.RunOptions{Language: "Python"}); err != nil || ex.Text() != "1" {
		t.Fatalf("Python: %v", err)
	}
	_, err = s.Run(context.Background(), "1", sandbox.RunOptions{Timeout: -time.Second})
	var bad *recovery.InvalidInputError
	if !errors.As(err, &bad) {
		t.Fatalf("negative timeout: %v", err)
	}
}

func TestRunStreamsOutputInOrder(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	var events []string
	ex, err := s.Run(context.Background(), "import sys, time\nprint('a')\ntime.sleep(0.05)\nprint('b', file=sys.stderr)\ntime.sleep(0.05)\nprint('c')\n'r'", sandbox.RunOptions{
		OnStdout: func(m sandbox.OutputMessage) { events = append(events, "out:"+m.Text) },
		OnStderr: func(m sandbox.OutputMessage) { events = append(events, "err:"+m.Text) },
		OnResult: func(r sandbox.Result) { events = append(events, "result:"+r.Text) },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"out:a\n", "err:b\n", "out:c\n", "result:'r'"}
	if strings.Join(events, "|") != strings.Join(want, "|") {
		t.Fatalf("callbacks = %q, want %q", events, want)
	}
	if ex.StdoutText() != "a\nc\n" {
		t.Fatalf("stdout = %q", ex.StdoutText())
	}
}

func TestRunUnicodeOutputAcrossReads(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	// Write a multi-byte character in two halves: the host must not split it.
	ex := mustSucceed(t, s, "import os, time\nb = 'é✓'.encode()\nos.write(1, b[:1]); time.sleep(0.02); os.write(1, b[1:4]); time.sleep(0.02); os.write(1, b[4:])")
	if ex.StdoutText() != "é✓" {
		t.Fatalf("stdout = %q", ex.StdoutText())
	}
	for _, c := range ex.Stdout {
		if strings.ContainsRune(c.Text, '\uFFFD') {
			t.Fatalf("a chunk split a character: %q", c.Text)
		}
	}
}

func TestReset(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	mustSucceed(t, s, "secret = 1\nopen('/work/kept.txt', 'w').write('x')")
	if err := s.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	ex := run(t, s, "secret")
	if ex.Error == nil || ex.Error.Name != "NameError" {
		t.Fatalf("after Reset: %+v", ex.Error)
	}
	if ex.ExecutionCount != 1 {
		t.Fatalf("count after Reset = %d, want 1", ex.ExecutionCount)
	}
	if ex := mustSucceed(t, s, "open('/work/kept.txt').read()"); ex.Text() != "'x'" {
		t.Fatalf("work dir after Reset: %q", ex.Text())
	}
}

func TestTimeoutKillsSandbox(t *testing.T) {
	p := sharedProvider(t)
	s := newSandbox(t, p, sandbox.CreateOptions{})
	pids := processTree(s.child.cmd.Process.Pid)
	start := time.Now()
	ex, err := s.Run(context.Background(), "print('started', flush=True)\nwhile True: pass", sandbox.RunOptions{Timeout: 300 * time.Millisecond})
	if !errors.Is(err, recovery.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	var te *recovery.TimeoutError
	if !errors.As(err, &te) || te.After != 300*time.Millisecond || te.Retryable() || te.Op != "code execution" {
		t.Fatalf("timeout error = %#v", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("Run returned after %s", elapsed)
	}
	if ex == nil || ex.StdoutText() != "started\n" {
		t.Fatalf("partial execution = %+v", ex)
	}
	assertCleanedUp(t, s, pids)
	_, err = s.Run(context.Background(), "1", sandbox.RunOptions{})
	if !errors.Is(err, sandbox.ErrCrashed) {
		t.Fatalf("Run after a timeout: %v, want a CrashError", err)
	}
	assertHealthy(t, p)
}

func TestContextDeadlineAndCancel(t *testing.T) {
	p := sharedProvider(t)
	s := newSandbox(t, p, sandbox.CreateOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := s.Run(ctx, "import time\ntime.sleep(60)", sandbox.RunOptions{})
	if !errors.Is(err, recovery.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: err = %v", err)
	}

	s2 := newSandbox(t, p, sandbox.CreateOptions{})
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel2)
	_, err = s2.Run(ctx2, "import time\ntime.sleep(60)", sandbox.RunOptions{})
	if !errors.Is(err, context.Canceled) || errors.Is(err, recovery.ErrTimeout) {
		t.Fatalf("cancel: err = %v, want context.Canceled", err)
	}
}

func TestCloseIsIdempotentAndRunAfterCloseFails(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	mustSucceed(t, s, "import subprocess\nbg = subprocess.Popen(['sleep', '1000'])")
	pids := processTree(s.child.cmd.Process.Pid)
	if len(pids) < 3 { // init, worker, sleep
		t.Fatalf("process tree = %v, want init, worker and sleep", pids)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertCleanedUp(t, s, pids)
	if _, err := s.Run(context.Background(), "1", sandbox.RunOptions{}); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	if err := s.Reset(context.Background()); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Reset after Close: %v", err)
	}
}

func TestCloseDuringRun(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	time.AfterFunc(200*time.Millisecond, func() { s.Close(context.Background()) })
	_, err := s.Run(context.Background(), "import time\ntime.sleep(60)", sandbox.RunOptions{})
	if !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

func TestProviderCloseClosesSandboxes(t *testing.T) {
	p := newProvider(t)
	s1 := newSandbox(t, p, sandbox.CreateOptions{})
	s2 := newSandbox(t, p, sandbox.CreateOptions{})
	pids := append(processTree(s1.child.cmd.Process.Pid), processTree(s2.child.cmd.Process.Pid)...)
	p.Close()
	assertCleanedUp(t, s1, pids)
	assertCleanedUp(t, s2, nil)
	if _, err := p.Create(context.Background(), sandbox.CreateOptions{}); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Create after Close: %v", err)
	}
}

func TestLifetimeKillsSandbox(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{Lifetime: 300 * time.Millisecond})
	mustSucceed(t, s, "1")
	_, err := s.Run(context.Background(), "import time\ntime.sleep(30)", sandbox.RunOptions{})
	var ce *sandbox.CrashError
	if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "lifetime") {
		t.Fatalf("err = %v, want a CrashError about the lifetime", err)
	}
}

func TestConcurrentSandboxes(t *testing.T) {
	p := sharedProvider(t)
	const n = 4
	errs := make(chan error, n)
	for i := range n {
		go func() {
			s, err := p.Create(context.Background(), sandbox.CreateOptions{})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close(context.Background())
			for j := range 20 {
				ex, err := s.Run(context.Background(), "v = globals().get('v', 0) + 1\nv", sandbox.RunOptions{})
				if err != nil {
					errs <- err
					return
				}
				if want := strconv.Itoa(j + 1); ex.Text() != want {
					errs <- errors.New("sandbox " + strconv.Itoa(i) + ": got " + ex.Text() + " want " + want)
					return
				}
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
