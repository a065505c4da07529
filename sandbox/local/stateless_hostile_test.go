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

// A call leaves a connection in TIME_WAIT on 127.0.0.1:8000, which keeps
// the port from being bound again in its network namespace for a minute.
// Each call has a network namespace of its own (layer netns_per_call): the
// next call binds the port at once and sees no connection and no counter
// of the earlier call. Where the host cannot give calls namespaces of
// their own, the sandbox must say so in its isolation report.
func TestStatelessNetworkStateIsTheCallsOwn(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{Stateless: true})
	if !s.Isolation().Has("netns_per_call") {
		why, ok := s.Isolation().Missing["netns_per_call"]
		if !ok || why == "" {
			t.Fatalf("a stateless sandbox neither has netns_per_call nor says why: %+v", s.Isolation())
		}
		t.Logf("no network namespace per call on this host (%s): the report says so", why)
		return
	}
	first := mustSucceed(t, s, `
import errno, os, socket
srv = socket.socket()
srv.bind(("127.0.0.1", 8000))
srv.listen()
c = socket.create_connection(("127.0.0.1", 8000))
a, _ = srv.accept()
a.close()  # the active close: 127.0.0.1:8000 goes to TIME_WAIT
c.recv(1)
c.close()
srv.close()
try:
    socket.socket().bind(("127.0.0.1", 8000))
    print("bound")
except OSError as e:
    print(errno.errorcode[e.errno])
print(os.readlink("/proc/self/ns/net"))
`)
	lines := strings.Fields(first.StdoutText())
	if len(lines) != 2 || lines[0] != "EADDRINUSE" {
		t.Fatalf("the first call did not leave the port in use: %q: the test proves nothing", first.StdoutText())
	}
	second := mustSucceed(t, s, `
import os, socket
socket.socket().bind(("127.0.0.1", 8000))
tcp = open("/proc/net/tcp").read().splitlines()[1:]
snmp = open("/proc/net/snmp").read().splitlines()
tcpstats = dict(zip(*[l.split()[1:] for l in snmp if l.startswith("Tcp:")]))
print("bound", len(tcp), tcpstats["ActiveOpens"], os.readlink("/proc/self/ns/net"))
`)
	got := strings.Fields(second.StdoutText())
	if len(got) != 4 || got[0] != "bound" || got[1] != "0" || got[2] != "0" || got[3] == lines[1] {
		t.Fatalf("the next call: %q (the first ran in %s)", second.StdoutText(), lines[1])
	}
}

// Inside its own namespaces a call holds no capability, cannot make
// another namespace and runs as the overflow uid; loopback works.
func TestStatelessCallNamespaceGivesNoPrivilege(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{Stateless: true})
	if !s.Isolation().Has("netns_per_call") {
		t.Logf("no network namespace per call here (%s): nothing to check", s.Isolation().Missing["netns_per_call"])
		return
	}
	ex := mustSucceed(t, s, `
import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
caps = [l.split()[1] for l in open("/proc/self/status") if l.startswith(("CapEff", "CapPrm", "CapBnd", "CapAmb"))]
refused = []
for flags in (0x10000000 | 0x40000000, 0x40000000, 0x10000000, 0x20000, 0x20000000):
    ctypes.set_errno(0)
    refused.append(libc.unshare(flags) == -1 and ctypes.get_errno() == 1)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
socket.create_connection(srv.getsockname()).close()
print(os.getuid(), set(caps), all(refused))
`)
	if got := strings.TrimSpace(ex.StdoutText()); got != "65534 {'0000000000000000'} True" {
		t.Fatalf("uid, capabilities, unshare refused: %s", got)
	}
}
