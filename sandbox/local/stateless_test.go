//go:build linux

package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// statelessExec is the default primitive (a stateless pool) over the local
// provider, with one sandbox so that consecutive calls share it.
func statelessExec(t *testing.T) *sandbox.CodeExecution {
	t.Helper()
	ce := sandbox.NewCodeExecution(sharedProvider(t), sandbox.MaxSandboxes(1), observability.WithLogger(quiet))
	t.Cleanup(func() { ce.Close(context.Background()) })
	return ce
}

// execute runs code through the primitive and fails on any error or on a
// Python exception.
func execute(t *testing.T, ce *sandbox.CodeExecution, code string) sandbox.CodeOutput {
	t.Helper()
	out, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: code, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("Execute(%.60q): %v", code, err)
	}
	if !out.Success {
		t.Fatalf("Execute(%.60q): %s\n%s", code, out.Error, out.Traceback)
	}
	return out
}

// cleanSlate runs dirty, then probe, on the same sandbox of a stateless
// primitive, and checks that probe prints want: nothing of dirty is
// visible.
func cleanSlate(t *testing.T, dirty, probe, want string) {
	t.Helper()
	ce := statelessExec(t)
	first := execute(t, ce, dirty)
	out := execute(t, ce, probe)
	if out.SandboxID != first.SandboxID || ce.Pool().Stats().Created != 1 {
		t.Fatalf("the calls did not share a sandbox (%s, %s): the test proves nothing", first.SandboxID, out.SandboxID)
	}
	if got := strings.TrimSpace(out.Stdout); got != want {
		t.Fatalf("after %q the next call saw %q, want %q", dirty, got, want)
	}
}

func TestStatelessFilesAreGone(t *testing.T) {
	cleanSlate(t, `
import os
for d in ("/work", "/tmp", "/dev/shm", os.path.expanduser("~")):
    open(os.path.join(d, "left-behind"), "w").write("secret")
os.makedirs("/work/a/b")
open("/work/a/b/c", "w").write("x")
os.chmod("/work/a", 0)
os.symlink("/etc/passwd", "/tmp/link")
os.mkfifo("/tmp/fifo")
os.chmod("/tmp", 0o700)
`, `
import os, stat
print(sorted(os.listdir("/work")), sorted(os.listdir("/tmp")), sorted(os.listdir("/dev/shm")),
      oct(stat.S_IMODE(os.stat("/tmp").st_mode)))
`, "[] [] [] 0o1777")
}

func TestStatelessEnvironmentIsFresh(t *testing.T) {
	cleanSlate(t, `
import os
os.environ["LEFT_BEHIND"] = "secret"
os.environ["PATH"] = "/nowhere"
os.putenv("RAW_PUT", "1")
`, `
import os, subprocess
print(os.environ.get("LEFT_BEHIND"), os.environ["PATH"], subprocess.run(["/bin/sh", "-c", "echo ${RAW_PUT:-unset}"], capture_output=True, text=True).stdout.strip())
`, "None "+pipOffDir+"/bin:/usr/local/bin:/usr/bin:/bin unset")
}

func TestStatelessProcessesAreGone(t *testing.T) {
	cleanSlate(t, `
import os, subprocess
subprocess.Popen(["sleep", "300"])
subprocess.Popen(["sh", "-c", "sleep 301 & sleep 302"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        import time
        time.sleep(300)
    os._exit(0)
`, `
import os
me, parent = os.getpid(), os.getppid()
mine = open("/proc/self/cmdline").read()
others = []
for p in os.listdir("/proc"):
    if p.isdigit() and int(p) not in (1, me, parent):
        st = open("/proc/%s/stat" % p).read()
        state, ppid = st[st.rindex(")") + 2:].split()[:2]
        cmdline = open("/proc/%s/cmdline" % p).read()
        if int(ppid) == parent and cmdline == mine:
            continue  # forked by the zygote for the next call
        if state not in "ZX":
            others.append(cmdline.replace("\0", " ")[:40])
print(others)
`, "[]")
}

func TestStatelessModulesAndPatchesAreGone(t *testing.T) {
	cleanSlate(t, `
import json, sys, fractions
json.dumps = lambda *a, **k: "patched"
sys.modules["os"].getcwd = lambda: "/patched"
sys.path.insert(0, "/tmp/evil")
sys.displayhook = None
`, `
import json, sys, os
print(json.dumps([1]), "fractions" in sys.modules, os.getcwd(), "/tmp/evil" in sys.path)
`, "[1] False /work False")
}

func TestStatelessBuiltinsAreFresh(t *testing.T) {
	cleanSlate(t, `
import builtins
builtins.left_behind = "secret"
builtins.len = lambda x: -1
builtins.print = lambda *a, **k: None
`, `
import builtins
print(len([1, 2]), hasattr(builtins, "left_behind"))
`, "2 False")
}

func TestStatelessDescriptorsAreClosed(t *testing.T) {
	ce := statelessExec(t)
	const list = "import os\nprint(sorted(int(f) for f in os.listdir('/proc/self/fd')))"
	before := execute(t, ce, list).Stdout
	execute(t, ce, `
import os, socket
keep = [os.dup(1), os.open("/work/f", os.O_CREAT | os.O_WRONLY), socket.socket(socket.AF_UNIX), os.pipe()]
os.set_inheritable(keep[0], True)
`)
	if after := execute(t, ce, list).Stdout; after != before {
		t.Fatalf("descriptors after a call that leaked some: %s, fresh: %s", after, before)
	}
}

func TestStatelessWorkingDirectoryIsReset(t *testing.T) {
	cleanSlate(t, "import os\nos.chdir('/tmp')", "import os\nprint(os.getcwd())", "/work")
}

func TestStatelessSignalHandlersAreReset(t *testing.T) {
	cleanSlate(t, `
import signal
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGUSR1, lambda *a: None)
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.alarm(100)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
`, `
import signal
print(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL,
      signal.getsignal(signal.SIGINT) is signal.default_int_handler, signal.alarm(0), sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))
`, "True True True 0 []")
}

func TestStatelessResourceUsageIsFresh(t *testing.T) {
	cleanSlate(t, `
import resource, time, threading
hold = bytearray(200 << 20)
for i in range(0, len(hold), 4096):
    hold[i] = 1
end = time.process_time() + 0.3
while time.process_time() < end:
    pass
resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
resource.setrlimit(resource.RLIMIT_CPU, (5, 5))
threading.Thread(target=time.sleep, args=(300,), daemon=True).start()
`, `
import resource, threading
ru = resource.getrusage(resource.RUSAGE_SELF)
print(ru.ru_utime + ru.ru_stime < 0.25, ru.ru_maxrss < 100 << 10, resource.getrlimit(resource.RLIMIT_NOFILE),
      resource.getrlimit(resource.RLIMIT_CPU)[0] == resource.RLIM_INFINITY, threading.active_count())
`, "True True (256, 256) True 1")
}

// TestStatelessCallCannotChangeTheZygote: the processes a call's child is
// forked from (the zygote and the init) outlive the call, so a call must
// not change what the next call inherits from them: their resource
// limits, priority, CPU affinity and scheduling policy, all of which a
// process may change in another process of its uid. Each attempt is
// refused and the next call sees the defaults.
func TestStatelessCallCannotChangeTheZygote(t *testing.T) {
	cleanSlate(t, `
import os, resource
refused = []
for pid in (os.getppid(), 1):
    for name, change in (
        ("prlimit", lambda: resource.prlimit(pid, resource.RLIMIT_NOFILE, (16, 16))),
        ("setpriority", lambda: os.setpriority(os.PRIO_PROCESS, pid, 19)),
        ("setpriority-user", lambda: os.setpriority(os.PRIO_USER, 0, 19)),
        ("setpriority-group", lambda: os.setpriority(os.PRIO_PGRP, 0, 19)),
        ("sched_setaffinity", lambda: os.sched_setaffinity(pid, {0})),
        ("sched_setscheduler", lambda: os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))),
        ("sched_setparam", lambda: os.sched_setparam(pid, os.sched_param(0))),
    ):
        try:
            change()
        except PermissionError:
            refused.append(name)
assert len(refused) == 14, refused
print(resource.prlimit(os.getppid(), resource.RLIMIT_NOFILE))  # reading stays allowed
resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))              # and so does changing oneself
os.setpriority(os.PRIO_PROCESS, 0, 15)
os.sched_setaffinity(0, {0})
`, `
import os, resource
print(resource.getrlimit(resource.RLIMIT_NOFILE), os.getpriority(os.PRIO_PROCESS, 0),
      os.sched_getaffinity(0) == set(range(os.cpu_count())), os.sched_getscheduler(0) == os.SCHED_OTHER)
`, "(256, 256) 0 True True")
}

// TestStatelessCallCannotWriteTheZygoteMemory: a call cannot open the
// memory of the processes that outlive it (the zygote, the init) for
// writing, with Landlock (which keeps /proc read-only) and without it
// (as on a kernel that lacks it): /proc is mounted read-only.
func TestStatelessCallCannotWriteTheZygoteMemory(t *testing.T) {
	for _, landlock := range []bool{true, false} {
		p := newProvider(t)
		if !p.Isolation().Has("proc_readonly") {
			t.Fatalf("proc_readonly not active: %s (missing %v)", p.Isolation(), p.Isolation().Missing)
		}
		p.plan.landlock = landlock
		s := newSandbox(t, p, sandbox.CreateOptions{Stateless: true})
		ex := mustSucceed(t, s, `
import os
errors = []
for pid in (os.getppid(), 1):
    for name in ("mem", "oom_score_adj", "comm"):
        try:
            open("/proc/%d/%s" % (pid, name), "r+b")
            errors.append("opened")
        except OSError as e:
            errors.append(e.errno)
print(len(open("/proc/%d/stat" % os.getppid()).read()) > 0, errors)
`)
		if got, want := strings.TrimSpace(ex.StdoutText()), "True [30, 30, 30, 30, 30, 30]"; got != want {
			t.Fatalf("landlock %v: opening the zygote's and the init's /proc files for writing: %s, want %s (EROFS)", landlock, got, want)
		}
	}
}

// TestStatelessCallCannotImpersonateTheNext: a call that forges its own
// end (the end markers and the "end" event need the call's nonce) while a
// process of it stays alive could read the next caller's command from the
// command pipe and answer it. The call never learns its nonce: not from
// the worker's frames, not from the command pipe or the zygote's memory
// through /proc. The next caller's code runs, and its output is its own.
func TestStatelessCallCannotImpersonateTheNext(t *testing.T) {
	ce := statelessExec(t)
	attack := execute(t, ce, `
import os, sys, json
found = None
f = sys._getframe()
while f is not None and found is None:
    for v in list(f.f_locals.values()) + list(f.f_globals.values()):
        if isinstance(v, str) and len(v) == 16 and all(c in "0123456789abcdef" for c in v):
            found = v
            break
    f = f.f_back
tried = []
for pid in (os.getppid(), 1):
    for name in ("mem", "environ", "fd/3"):
        try:
            with open("/proc/%d/%s" % (pid, name), "rb") as g:
                g.read(1)
            tried.append("read")
        except OSError as e:
            tried.append(e.errno)
print("nonce found" if found else "no nonce", tried, flush=True)
if found:
    mark = ("\x00\x01sandbox-end:" + found + "\x00").encode()
    os.write(1, mark); os.write(2, mark)
    os.write(4, (json.dumps({"t": "end", "nonce": found, "count": 1}) + "\n").encode())
    cmd = open("/proc/%d/fd/3" % os.getppid(), "rb")
    op, nonce, n, m = cmd.readline().split()
    stolen = cmd.read(int(n))
    os.write(1, b"impersonated: " + stolen + b"\n")
    mark = b"\x00\x01sandbox-end:" + nonce + b"\x00"
    os.write(1, mark); os.write(2, mark)
    os.write(4, (json.dumps({"t": "end", "nonce": nonce.decode(), "count": 1}) + "\n").encode())
`)
	victim := execute(t, ce, `print("the victim's own output")`)
	if victim.SandboxID != attack.SandboxID {
		t.Fatalf("the calls did not share a sandbox (%s, %s): the test proves nothing", attack.SandboxID, victim.SandboxID)
	}
	if got := strings.TrimSpace(victim.Stdout); got != "the victim's own output" {
		t.Fatalf("the next call's output is %q (the attacking call printed %q)", got, attack.Stdout)
	}
	// The zygote's memory, environment and command pipe: EACCES each.
	if !strings.HasPrefix(attack.Stdout, "no nonce [13, 13, 13,") {
		t.Fatalf("the call found its nonce, or reached the zygote through /proc: %q", attack.Stdout)
	}
}

// TestStatelessMemoryHoldsNothingOfEarlierCalls: a call's code and
// environment (which may carry a caller's secrets) are not in the memory
// of a later call's process, which is forked from the zygote: the later
// call scans every readable mapping of its own memory for them.
func TestStatelessMemoryHoldsNothingOfEarlierCalls(t *testing.T) {
	ce := statelessExec(t)
	// The secret is prefix+suffix; the scanning call holds the two halves
	// apart, so only an inherited copy can match.
	prefix, suffix := "sec-"+newNonce(), newNonce()+"-ret"
	secret := prefix + suffix
	// Large and small code (the large one is streamed through the zygote,
	// the small one kept there until its process has ended), and the
	// environment.
	var first sandbox.CodeOutput
	for _, pad := range []int{100 << 10, 0} {
		var err error
		first, err = ce.Execute(context.Background(), sandbox.CodeInput{
			Code: "token = " + strconv.Quote(secret) + "\n# " + strings.Repeat("x", pad) + "\nprint(len(token))",
			Env:  map[string]string{"CALLER_TOKEN": secret},
		})
		if err != nil || !first.Success {
			t.Fatalf("first call: %v %+v", err, first)
		}
	}
	scanner := fmt.Sprintf(`
a, b = %q.encode(), %q.encode()
def scan():
    hits = []
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", buffering=0) as mem:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            if "r" not in f[1] or hi - lo > 256 << 20:
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            i = data.find(a)
            while i >= 0:
                if data[i + len(a):i + len(a) + len(b)] == b:
                    hits.append(f[-1] if len(f) > 5 else "anonymous")
                i = data.find(a, i + 1)
    return hits
inherited = scan()
joined = a + b  # the scan must find a copy made here
print(inherited, len(scan()) > 0)
`, prefix, suffix)
	// The processes of the next two calls already exist when the last
	// secret call ends: both scan.
	for i := range 2 {
		out := execute(t, ce, scanner)
		if out.SandboxID != first.SandboxID {
			t.Fatalf("the calls did not share a sandbox: the test proves nothing")
		}
		if got := strings.TrimSpace(out.Stdout); got != "[] True" {
			t.Fatalf("later call %d found an earlier call's code or environment in its memory: %s", i+1, got)
		}
	}
}

// TestStatelessCallCannotSignalTheNext: the process that will run the
// next call is forked while a call runs, and the call's code can signal
// it. Whatever it sends — signals that would interrupt, terminate, stop
// or kill — the next call runs normally and the sandbox stays.
func TestStatelessCallCannotSignalTheNext(t *testing.T) {
	for _, sigs := range []string{
		"signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP, signal.SIGRTMIN, signal.SIGTSTP",
		"signal.SIGSTOP",
		"signal.SIGKILL",
	} {
		ce := statelessExec(t)
		first := execute(t, ce, `
import os, signal, time
me, parent = os.getpid(), os.getppid()
deadline = time.monotonic() + 10
while True:  # the processes waiting for the next calls
    others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me, parent)]
    if others or time.monotonic() > deadline:
        break
    time.sleep(0.001)
for p in others:
    for sig in (`+sigs+`,):
        os.kill(p, sig)
print(len(others))
`)
		if strings.TrimSpace(first.Stdout) == "0" {
			t.Fatalf("%s: the call found no other process to signal: the test proves nothing", sigs)
		}
		for i := range 3 {
			out := execute(t, ce, "import time\ntime.sleep(0.05)\nprint('next', "+strconv.Itoa(i)+")")
			if got := strings.TrimSpace(out.Stdout); got != "next "+strconv.Itoa(i) || out.SandboxID != first.SandboxID {
				t.Fatalf("%s: call %d after: %q in %s (first in %s)", sigs, i, got, out.SandboxID, first.SandboxID)
			}
		}
	}
}

// TestStatelessChildKilledFromOutsideIsACrash: the waiting child can only
// be killed from outside the sandbox (the host, or the kernel's OOM
// killer). The next call then reports a crash at once, not a hang, and a
// pool replaces the sandbox.
func TestStatelessChildKilledFromOutsideIsACrash(t *testing.T) {
	for _, size := range []int{0, 200 << 10} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{Stateless: true})
			init := s.child.cmd.Process.Pid
			mustSucceed(t, s, "1")
			deadline := time.Now().Add(10 * time.Second)
			var waiting []int
			for len(waiting) == 0 && time.Now().Before(deadline) {
				if zygote := childrenOf(t, init); len(zygote) == 1 {
					waiting = childrenOf(t, zygote[0])
				}
				time.Sleep(time.Millisecond)
			}
			if len(waiting) == 0 {
				t.Fatal("the zygote has no child waiting for a call")
			}
			for _, pid := range waiting {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			code := "# " + strings.Repeat("x", size) + "\nprint('after')"
			_, err := s.Run(context.Background(), code, sandbox.RunOptions{Timeout: 20 * time.Second})
			var crash *sandbox.CrashError
			if !errors.As(err, &crash) {
				t.Fatalf("call after its process was killed: %v, want a *sandbox.CrashError", err)
			}
		})
	}
}

// childrenOf lists the children of pid's main thread.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

func TestStatelessCrashAndTimeoutKeepTheirMeaning(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{Stateless: true})
	ex, err := s.Run(context.Background(), "print('before')\nimport os\nos._exit(7)", sandbox.RunOptions{Timeout: 10 * time.Second})
	var crash *sandbox.CrashError
	if !errors.As(err, &crash) || !strings.Contains(crash.Reason, "exit status 7") {
		t.Fatalf("os._exit in a stateless cell: %v, want a *CrashError naming exit status 7", err)
	}
	if ex == nil || ex.StdoutText() != "before\n" {
		t.Fatalf("output before the crash: %+v", ex)
	}

	s = newSandbox(t, sharedProvider(t), sandbox.CreateOptions{Stateless: true})
	ex, err = s.Run(context.Background(), "print('started', flush=True)\nwhile True: pass", sandbox.RunOptions{Timeout: 300 * time.Millisecond})
	if !errors.Is(err, recovery.ErrTimeout) {
		t.Fatalf("timeout in a stateless cell: %v", err)
	}
	if ex == nil || ex.StdoutText() != "started\n" || ex.Error == nil || ex.Error.Name != "KeyboardInterrupt" {
		t.Fatalf("partial execution after the timeout: %+v", ex)
	}
	if err := s.Reset(context.Background()); err == nil {
		t.Fatal("a timed-out sandbox must be dead")
	}
}

// TestIPCThatOutlivesProcessesIsRefused: SysV shared memory, semaphores
// and message queues, POSIX message queues and memfd would survive the
// run's processes (and escape the memory bounds), so the filter refuses
// them with EPERM.
func TestIPCThatOutlivesProcessesIsRefused(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{Stateless: true})
	ex := mustSucceed(t, s, `
import ctypes, ctypes.util, os
libc = ctypes.CDLL(None, use_errno=True)
rt = ctypes.CDLL(ctypes.util.find_library("rt") or "librt.so.1", use_errno=True)
res = []
for name, call in (("shmget", lambda: libc.shmget(0, 4096, 0o1600)), ("semget", lambda: libc.semget(0, 1, 0o1600)),
                   ("msgget", lambda: libc.msgget(0, 0o1600)), ("mq_open", lambda: rt.mq_open(b"/q", 0o100 | 2, 0o600, None))):
    ctypes.set_errno(0)
    r = call()
    res.append("%s=%d/%d" % (name, r, ctypes.get_errno()))
try:
    os.memfd_create("x")
    res.append("memfd=ok")
except PermissionError:
    res.append("memfd=EPERM")
print(" ".join(res))
`)
	if got, want := strings.TrimSpace(ex.StdoutText()), "shmget=-1/1 semget=-1/1 msgget=-1/1 mq_open=-1/1 memfd=EPERM"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
