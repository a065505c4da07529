package e2b_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/sandbox"
)

// One test per property of a stateless reset on E2B, against the fake.

func newProviderSandbox(t *testing.T) sandbox.Sandbox {
	t.Helper()
	srv := newFake(t)
	sb, err := newClient(t, srv).Provider().Create(ctxTimeout(t, 30*time.Second), sandbox.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close(context.Background()) })
	return sb
}

func mustRun(t *testing.T, sb sandbox.Sandbox, code string) *sandbox.Execution {
	t.Helper()
	ex, err := sb.Run(ctxTimeout(t, 30*time.Second), code, sandbox.RunOptions{})
	if err != nil {
		t.Fatalf("%s: %v", code, err)
	}
	return ex
}

func TestResetGivesAFreshKernel(t *testing.T) {
	sb := newProviderSandbox(t)
	if ex := mustRun(t, sb, "import json\nx = 1\nx"); ex.Text() != "1" || ex.ExecutionCount != 1 {
		t.Fatalf("first run: %+v (the set-up must not show)", ex)
	}
	if err := sb.Reset(ctxTimeout(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	ex := mustRun(t, sb, "json.dumps(x)")
	if ex.Error == nil || ex.Error.Name != "NameError" || ex.ExecutionCount != 1 {
		t.Fatalf("state survived Reset: %+v", ex)
	}
}

func TestResetRemovesTheFilesOfEarlierRuns(t *testing.T) {
	sb := newProviderSandbox(t)
	mustRun(t, sb, "import os\nopen('out.txt', 'w').write('x')\nos.makedirs('d/e')\nopen('d/e/f', 'w').write('y')\nos.symlink('/tmp', 'link')")
	if err := sb.Reset(ctxTimeout(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	ex := mustRun(t, sb, "import os\nprint(sorted(os.listdir('.')), os.path.exists('/tmp'))")
	if ex.StdoutText() != "[] True\n" {
		t.Fatalf("after Reset: %q %+v", ex.StdoutText(), ex.Error)
	}
}

func TestResetKillsTheProcessesOfEarlierRuns(t *testing.T) {
	sb := newProviderSandbox(t)
	// A child in its own session, and a daemon that left the kernel's
	// process tree (double fork).
	ex := mustRun(t, sb, `import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True)
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    os.write(w, str(pid).encode())
    os._exit(0)
os.close(w)
daemon = int(os.read(r, 32))
os.wait()
print(child.pid, daemon)`)
	if ex.Error != nil {
		t.Fatalf("%+v", ex.Error)
	}
	pids := strings.Fields(ex.StdoutText())
	if len(pids) != 2 {
		t.Fatalf("output %q", ex.StdoutText())
	}
	alive := func() string {
		t.Helper()
		code := "import os\n" +
			"def alive(p):\n" +
			"    try:\n" +
			"        with open('/proc/%d/stat' % p) as f:\n" +
			"            return f.read().rsplit(')', 1)[1].split()[0] not in 'ZXx'\n" +
			"    except OSError:\n" +
			"        return False\n" +
			"print(alive(" + pids[0] + "), alive(" + pids[1] + "))"
		return mustRun(t, sb, code).StdoutText()
	}
	if got := alive(); got != "True True\n" {
		t.Fatalf("before Reset: %q", got)
	}
	if err := sb.Reset(ctxTimeout(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := alive(); got != "False False\n" {
		t.Fatalf("after Reset, alive: %q (pids %s)", got, strconv.Quote(ex.StdoutText()))
	}
}

// TestRunMarkerIsSetForEachRun documents the marker Reset relies on.
func TestRunMarkerIsSetForEachRun(t *testing.T) {
	sb := newProviderSandbox(t)
	ex := mustRun(t, sb, "import os\nprint(len(os.environ.get('"+e2b.RunMarkerEnv+"', '')))")
	if ex.StdoutText() != "24\n" {
		t.Fatalf("%q", ex.StdoutText())
	}
}
