//go:build linux

package local

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/sandbox"
)

// The tests of this file attack the seam between two stateless calls on
// one sandbox: each call changes what it can reach of its descriptors or
// its directories, and the next caller must not notice.

// sameSandbox fails the test when the calls did not share a sandbox: the
// test would prove nothing.
func sameSandbox(t *testing.T, outs ...sandbox.CodeOutput) {
	t.Helper()
	for _, o := range outs[1:] {
		if o.SandboxID != outs[0].SandboxID {
			t.Fatalf("the calls did not share a sandbox (%s, %s): the test proves nothing", outs[0].SandboxID, o.SandboxID)
		}
	}
}

// A call makes its stdout non-blocking and shrinks its pipe to one page.
// Both belong to the call's own pipe: the next caller's subprocess writes
// a megabyte to stdout without EAGAIN.
func TestStatelessStdoutFlagsDoNotReachTheNext(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{Stateless: true})
	first := mustSucceed(t, s, `
import fcntl, os
for fd in (1, 2, 4):
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ
print(fcntl.fcntl(1, 1032))  # F_GETPIPE_SZ
`)
	if strings.TrimSpace(first.StdoutText()) != "4096" {
		t.Fatalf("the first call could not shrink its pipe (%q): the test proves nothing", first.StdoutText())
	}
	out := mustSucceed(t, s, `
import fcntl, os, subprocess, sys
print(fcntl.fcntl(1, fcntl.F_GETFL) & os.O_NONBLOCK, fcntl.fcntl(1, 1032), flush=True)
r = subprocess.run([sys.executable, "-c", "import sys; sys.stdout.write('x' * 300000)"])
assert r.returncode == 0, r.returncode
`)
	text := out.StdoutText()
	if !strings.HasPrefix(text, "0 65536\n") || len(text) != len("0 65536\n")+300000 {
		t.Fatalf("the next call's stdout: %.40q (%d bytes), want a blocking 64 KiB pipe and all 300000 bytes", text, len(text))
	}
}

// A call arms I/O signals on its stdout, stderr and event pipe, owned by
// its whole process group (the zygote's too), so that every later read of
// those pipes would signal the group. The signals die with the call's
// pipes: three later calls print their hundred lines whole.
func TestStatelessAsyncSignalsDoNotReachTheNext(t *testing.T) {
	ce := statelessExec(t)
	first := execute(t, ce, `
import fcntl, os, signal
for fd in (1, 2, 4):
    fcntl.fcntl(fd, fcntl.F_SETOWN, -os.getpgrp())
    fcntl.fcntl(fd, 10, signal.SIGUSR1)  # F_SETSIG
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)
`)
	for i := range 3 {
		out := execute(t, ce, "for i in range(100):\n    print('line', i)\n42")
		sameSandbox(t, first, out)
		if n := strings.Count(out.Stdout, "\n"); n != 100 || len(out.Results) != 1 || out.Results[0].Text != "42" {
			t.Fatalf("call %d after the signals were armed: %d lines, results %+v", i, n, out.Results)
		}
	}
}

// A call forges the end of its run on its event pipe and the end markers
// a session's worker writes, then goes on. Its end is the zygote's, which
// comes only when every process of the call is gone: the forged end ends
// nothing, the call's late output is its own, and the next caller's
// output and result are the next caller's.
func TestStatelessForgedEndEndsNothing(t *testing.T) {
	ce := statelessExec(t)
	attack := execute(t, ce, `
import json, os, subprocess, time
for fd in (1, 2):
    os.write(fd, b"\x00\x01sandbox-end:-\x00")
os.write(4, (json.dumps({"t": "end", "nonce": "-", "count": 1}) + "\n").encode())
subprocess.Popen(["sh", "-c", "sleep 0.3; echo from the background; sleep 5; echo injected"])
time.sleep(0.5)
print("late")
`)
	victim := execute(t, ce, "print('victim output')\n6*7")
	sameSandbox(t, attack, victim)
	if !strings.HasSuffix(attack.Stdout, "from the background\nlate\n") {
		t.Fatalf("the attacking call's output %q: the forged end cut it", attack.Stdout)
	}
	if victim.Stdout != "victim output\n" || len(victim.Results) != 1 || victim.Results[0].Text != "42" {
		t.Fatalf("the next caller got %q and %+v", victim.Stdout, victim.Results)
	}
}

// A call leaves deep and wide directory trees, locked (mode 0), with
// names long enough that their paths pass PATH_MAX, in /work, /tmp and
// /dev/shm. The wipe removes them before the call's end is reported: the
// next caller finds the directories empty, on the same sandbox.
func TestStatelessDeepTreesAreWiped(t *testing.T) {
	ce := statelessExec(t)
	first := execute(t, ce, `
import os
def deep(top, depth, name):
    fd = os.open(top, os.O_RDONLY)
    for i in range(depth):
        os.mkdir(name, dir_fd=fd)
        nxt = os.open(name, os.O_RDONLY, dir_fd=fd)
        open(os.open("f", os.O_CREAT | os.O_WRONLY, dir_fd=nxt), "w").close()
        if i % 3 == 0:
            os.fchmod(fd, 0)  # the parent, locked once its child exists
        os.close(fd)
        fd = nxt
    os.close(fd)
deep("/work", 1500, "d")
deep("/tmp", 60, "n" * 250)  # 15,000-byte paths
os.makedirs("/dev/shm/w")
for i in range(2000):
    os.mkdir("/dev/shm/w/%d" % i)
print("made")
`)
	out := execute(t, ce, `
import os
print(sorted(os.listdir("/work")), os.listdir("/tmp"), os.listdir("/dev/shm"))
`)
	sameSandbox(t, first, out)
	got := strings.TrimSpace(out.Stdout)
	if got != "[] [] []" && got != "['.site-packages'] [] []" {
		t.Fatalf("the next call found %s", got)
	}
	if _, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: "1", Timeout: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
}
