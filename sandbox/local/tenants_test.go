//go:build linux

package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/ttadev/primitives/sandbox"
	"golang.org/x/sys/unix"
)

// hostUIDs returns the host uids of the processes of s.
func hostUIDs(t *testing.T, s *Sandbox) map[int]bool {
	t.Helper()
	uids := map[int]bool{}
	for _, pid := range processTree(s.child.cmd.Process.Pid) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
				uid, _ := strconv.Atoi(f[1])
				uids[uid] = true
			}
		}
	}
	return uids
}

// TestTenantsDoNotShareUIDCounters: each sandbox runs as a host uid of its
// own, so a per-user kernel counter one sandbox exhausts — here pipe
// buffer memory, pipe-user-pages-soft — does not shrink another's.
func TestTenantsDoNotShareUIDCounters(t *testing.T) {
	needRoot(t, "one uid per sandbox needs a root host process")
	p := sharedProvider(t)
	a := newSandbox(t, p, sandbox.CreateOptions{})
	b := newSandbox(t, p, sandbox.CreateOptions{})
	mustSucceed(t, a, "1")
	mustSucceed(t, b, "1")
	ua, ub := hostUIDs(t, a), hostUIDs(t, b)
	if len(ua) != 1 || len(ub) != 1 || ua[65534] || ub[65534] || ua[0] || ub[0] {
		t.Fatalf("host uids: a %v, b %v; want one unprivileged uid each, not nobody", ua, ub)
	}
	for uid := range ua {
		if ub[uid] {
			t.Fatalf("both sandboxes run as host uid %d", uid)
		}
	}

	hold(t, a, `
import os, fcntl, time
held = []
try:
    for _ in range(100):
        r, w = os.pipe()
        held.append((r, w))
        fcntl.fcntl(w, 1031, 1 << 20)  # F_SETPIPE_SZ: 256 pages each
except OSError as e:
    pass
print("held", len(held), flush=True)
time.sleep(3)
`)
	ex := mustSucceed(t, b, `
import os, fcntl
r, w = os.pipe()
print(fcntl.fcntl(w, 1032))  # F_GETPIPE_SZ
`)
	if got := strings.TrimSpace(ex.StdoutText()); got != "65536" {
		t.Fatalf("a new pipe in sandbox b holds %s bytes while sandbox a holds many pipe buffers; want 65536", got)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("the host process cannot make a pipe while sandbox a holds many pipe buffers: %v", err)
	}
	defer r.Close()
	defer w.Close()
	if size, err := unix.FcntlInt(w.Fd(), unix.F_GETPIPE_SZ, 0); err != nil || size != 65536 {
		t.Fatalf("a new pipe in the host process holds %d bytes (%v); want 65536", size, err)
	}
}

// TestTenantsDoNotShareProcessesOrDescriptorsInFlight: one sandbox
// starts processes until RLIMIT_NPROC refuses and puts descriptors in
// flight over a unix socket until the kernel's per-user bound refuses
// (ETOOMANYREFS); another sandbox, as a uid of its own, still does both.
func TestTenantsDoNotShareProcessesOrDescriptorsInFlight(t *testing.T) {
	needRoot(t, "one uid per sandbox needs a root host process")
	p := sharedProvider(t)
	a := newSandbox(t, p, sandbox.CreateOptions{})
	b := newSandbox(t, p, sandbox.CreateOptions{})
	const probe = `
import array, os, socket, time
def fill_processes(most):
    n = 0
    while n < most:
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(%d)
            os._exit(0)
        n += 1
    return n
def fill_in_flight(most):
    s, r = socket.socketpair()
    fds = array.array("i", [s.fileno()] * 200)
    sent = 0
    while sent < most:
        try:
            s.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds[:min(200, most - sent)])])
        except OSError:
            break
        sent += min(200, most - sent)
    return sent, (s, r)
procs = fill_processes(%d)
sent, keep = fill_in_flight(%d)
print("held", procs, sent, flush=True)
time.sleep(%d)
`
	held, finished := hold(t, a, fmt.Sprintf(probe, 6, 1000, 100000, 3))
	var procs, inFlight int
	if _, err := fmt.Sscanf(held, "held %d %d", &procs, &inFlight); err != nil {
		t.Fatalf("flood report %q: %v", held, err)
	}
	if procs >= 1000 || inFlight >= 100000 {
		t.Fatalf("one sandbox started %d processes and put %d descriptors in flight: no bound held", procs, inFlight)
	}
	ex := mustSucceed(t, b, fmt.Sprintf(probe, 0, 8, 200, 0))
	if got := strings.TrimSpace(ex.StdoutText()); got != "held 8 200" {
		t.Fatalf("while sandbox a holds %d processes and %d descriptors in flight, sandbox b reports %q; want 8 processes and 200 descriptors", procs, inFlight, got)
	}
	if out, err := exec.Command("/bin/sh", "-c", "echo started").Output(); err != nil || string(out) != "started\n" {
		t.Fatalf("the host process cannot start a process while sandbox a holds its limit: %q %v", out, err)
	}
	finished()
}

// TestSharedKernelCountersAreBoundedPerSandbox floods the counters the
// kernel keeps per user namespace (inotify instances and watches) and per
// user (queued signals) from one sandbox, then checks that the host
// process and another sandbox can still use them.
func TestSharedKernelCountersAreBoundedPerSandbox(t *testing.T) {
	p := sharedProvider(t)
	if !p.Isolation().Has("userns_limits") {
		t.Fatalf("userns_limits not active: %s (missing %v)", p.Isolation(), p.Isolation().Missing)
	}
	a := newSandbox(t, p, sandbox.CreateOptions{})
	b := newSandbox(t, p, sandbox.CreateOptions{})
	mustSucceed(t, b, "1")
	held, finished := hold(t, a, `
import ctypes, os, signal, time
libc = ctypes.CDLL(None, use_errno=True)
fds = []
while True:
    fd = libc.inotify_init1(0)
    if fd < 0:
        break
    fds.append(fd)
watches = 0
if fds:
    os.makedirs("/tmp/w", exist_ok=True)
    for i in range(8000):
        d = "/tmp/w/%d" % i
        os.mkdir(d)
        if libc.inotify_add_watch(fds[0], d.encode(), 0x100) < 0:
            break
        watches += 1
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])
queued = 0
for i in range(200000):
    try:
        os.kill(os.getpid(), signal.SIGRTMIN)
    except OSError:
        break
    queued += 1
pending = int([l for l in open("/proc/self/status") if l.startswith("SigQ:")][0].split()[1].split("/")[0])
print("held", len(fds), watches, pending, flush=True)
time.sleep(3)
`)
	var instances, watches, pending int
	if _, err := fmt.Sscanf(held, "held %d %d %d", &instances, &watches, &pending); err != nil {
		t.Fatalf("flood report %q: %v", held, err)
	}
	if instances > 16 || watches > 4096 || pending > 256 {
		t.Fatalf("one sandbox holds %d inotify instances, %d watches, %d queued signals; want at most 16, 4096, 256", instances, watches, pending)
	}
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("the host cannot create an inotify instance while a sandbox floods: %v", err)
	}
	syscall.Close(fd)
	ex := mustSucceed(t, b, `
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print(sum(1 for _ in range(4) if libc.inotify_init1(0) >= 0))
`)
	if got := strings.TrimSpace(ex.StdoutText()); got != "4" {
		t.Fatalf("another sandbox opened %s of 4 inotify instances while the first floods", got)
	}
	finished()
}

// TestSeccompIsAnAllowList: a system call on neither list (process_mrelease,
// newer than most programs) fails with ENOSYS instead of reaching the
// kernel; sync, kernel AIO and the page-cache probes are refused.
func TestSeccompIsAnAllowList(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	ex := mustSucceed(t, s, `
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(nr, *args)
    return "%d/%d" % (r, ctypes.get_errno())
ctx = ctypes.c_ulong(0)
print(call(448, -1, 0), call(162), call(206, 1, ctypes.byref(ctx)), call(27, 0, 4096, None), os.getpid() > 0)
`)
	if got, want := strings.TrimSpace(ex.StdoutText()), "-1/38 -1/1 -1/1 -1/1 True"; got != want {
		t.Fatalf("process_mrelease, sync, io_setup, mincore: got %s, want %s", got, want)
	}
}

// TestNoParsingPastTheBudget: once a run's result budget is spent, the
// host stops parsing what the code writes on the event pipe (forged
// results, in any key order) but still sees the run's error and end.
func TestNoParsingPastTheBudget(t *testing.T) {
	p := newProvider(t, WithMaxOutputBytes(1000))
	s := newSandbox(t, p, sandbox.CreateOptions{})
	mustSucceed(t, s, "1")
	before := s.evParsed.Load()
	ex := run(t, s, `
import os
big = b'{"t":"result","is_main_result":false,"text":"' + b"x" * 2000 + b'"}\n'
os.write(4, big)
os.write(4, big)
line = b'{"t":"result","is_main_result":false,"text":"flood"}\n' * 1000
other = b'{"text":"reordered","t":"result"}\n' * 1000
for _ in range(100):
    os.write(4, line)
    os.write(4, other)
raise ValueError("after the flood")
`)
	parsed := s.evParsed.Load() - before
	if ex.Error == nil || ex.Error.Value != "after the flood" || len(ex.Results) != 1 {
		t.Fatalf("error %+v, %d results kept", ex.Error, len(ex.Results))
	}
	if parsed > 64 { // lines read ahead of the collector (the event channel holds 16)
		t.Fatalf("the host parsed %d event lines of a run that flooded 200,002 past its budget", parsed)
	}
	if !strings.Contains(ex.StderrText(), "[output truncated: 200001 results omitted by the sandbox") {
		t.Fatalf("note: %q", ex.StderrText())
	}
}

// TestHostUIDRangeIsUsedAndReused: sandboxes take uids from the configured
// range, one each, and a closed sandbox's uid serves the next one; with
// the range used up, Create fails rather than share a uid.
func TestHostUIDRangeIsUsedAndReused(t *testing.T) {
	needRoot(t, "one uid per sandbox needs a root host process")
	base := testUIDRange(2)
	p := newProvider(t, WithHostUIDRange(base, 2))
	a := newSandbox(t, p, sandbox.CreateOptions{})
	b := newSandbox(t, p, sandbox.CreateOptions{})
	if a.uid == b.uid || a.uid < base || a.uid > base+1 || b.uid < base || b.uid > base+1 {
		t.Fatalf("uids %#x and %#x, want the two of the range", a.uid, b.uid)
	}
	if _, err := p.Create(context.Background(), sandbox.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("third sandbox on a range of two: %v", err)
	}
	a.Close(context.Background())
	c := newSandbox(t, p, sandbox.CreateOptions{})
	if c.uid != a.uid {
		t.Fatalf("uid %#x, want the closed sandbox's %#x", c.uid, a.uid)
	}
	mustSucceed(t, c, "1")
}

// TestUserNamespaceIsOwnedBySandboxUID: with a root host process each
// sandbox's user namespace is created under the sandbox's own host uid,
// so what the kernel counts per user namespace is charged to that uid
// and not to root. Enough sandboxes to use up root's inotify instances
// several times over each take their full share, and the host process
// still creates one. The sandbox's processes carry none of the host
// process's supplementary groups.
func TestUserNamespaceIsOwnedBySandboxUID(t *testing.T) {
	needRoot(t, "creating a namespace under another uid needs a root host process")
	p := sharedProvider(t)
	groups, err := syscall.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	// Set on every thread: not while a creation has one thread switched
	// to a sandbox's uid (credMu), where the call would fail.
	setGroups := func(g []int) error {
		credMu.Lock()
		defer credMu.Unlock()
		return syscall.Setgroups(g)
	}
	if err := setGroups(append(groups, 4242)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { setGroups(groups) })
	if !p.Isolation().Has("userns_owner") {
		t.Fatalf("userns_owner not active: %s (missing %v)", p.Isolation(), p.Isolation().Missing)
	}

	// Root's remaining inotify budget, measured by using it up.
	var mine []int
	for {
		fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
		if err != nil {
			break
		}
		mine = append(mine, fd)
	}
	free := len(mine)
	for _, fd := range mine {
		syscall.Close(fd)
	}
	const share = 16 // userNSLimits["max_inotify_instances"]
	// Enough sandboxes to exceed root's budget where that takes at most 64;
	// with a larger fs.inotify.max_user_instances the namespace owner check
	// below still proves where the counts are charged.
	n := free/share + 2
	if n > 64 {
		t.Logf("root may create %d more inotify instances: 64 sandboxes will not exhaust them; the owner check decides", free)
		n = 64
	}

	held := make([]*Sandbox, n)
	for i := range held {
		held[i] = newSandbox(t, p, sandbox.CreateOptions{})
	}
	for i, s := range held {
		nsOwner := userNSOwner(t, s.child.cmd.Process.Pid)
		if nsOwner != s.uid {
			t.Fatalf("sandbox %d (host uid %d): its user namespace is owned by uid %d", i, s.uid, nsOwner)
		}
		ex := mustSucceed(t, s, `
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
held = [fd for fd in (libc.inotify_init1(0) for _ in range(64)) if fd >= 0]
groups = [l.split()[1:] for l in open("/proc/self/status") if l.startswith("Groups:")][0]
print(len(held), len(groups))
`)
		if got := strings.TrimSpace(ex.StdoutText()); got != fmt.Sprintf("%d 0", share) {
			t.Fatalf("sandbox %d of %d: %q inotify instances held and supplementary groups; want %d and 0", i, n, got, share)
		}
	}
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("%d sandboxes hold %d inotify instances (root had %d left) and the host process cannot create one: %v", n, n*share, free, err)
	}
	syscall.Close(fd)
}

// userNSOwner returns the host uid that owns the user namespace of pid.
func userNSOwner(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const nsGetOwnerUID = 0xb704 // _IO(0xb7, 0x4)
	var uid uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), nsGetOwnerUID, uintptr(unsafe.Pointer(&uid))); e != 0 {
		t.Fatalf("NS_GET_OWNER_UID: %v", e)
	}
	return int(uid)
}

// hold runs code in s in the background until it prints a line starting
// with "held" (the code then keeps what it holds for a few seconds) and
// returns that line, and a function that waits for the run to end. The
// test fails if the run ends without the line or with an error.
func hold(t *testing.T, s *Sandbox, code string) (report string, finished func()) {
	t.Helper()
	line := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		ex, err := s.Run(context.Background(), code, sandbox.RunOptions{Timeout: 60 * time.Second,
			OnStdout: func(m sandbox.OutputMessage) {
				if strings.HasPrefix(m.Text, "held") {
					select {
					case line <- strings.TrimSpace(m.Text):
					default:
					}
				}
			}})
		if err == nil && ex.Error != nil {
			err = fmt.Errorf("%s: %s", ex.Error.Name, ex.Error.Value)
		}
		done <- err
	}()
	var once sync.Once
	var runErr error
	wait := func() {
		once.Do(func() { runErr = <-done })
		if runErr != nil {
			t.Errorf("holding sandbox: %v", runErr)
		}
	}
	t.Cleanup(func() { once.Do(func() { runErr = <-done }) })
	select {
	case report = <-line:
		return report, wait
	case err := <-done:
		once.Do(func() { runErr = err })
		t.Fatalf("holding sandbox ended before holding anything: %v", err)
		return "", nil
	}
}

// TestConcurrentCreatesEachOwnTheirNamespace: sandboxes created at the
// same time from many goroutines all start, each in a user namespace its
// own uid owns (the credentials and the dumpable flag the creation
// switches are shared by the host process's threads).
func TestConcurrentCreatesEachOwnTheirNamespace(t *testing.T) {
	needRoot(t, "creating a namespace under another uid needs a root host process")
	p := sharedProvider(t)
	const n = 24
	boxes := make([]*Sandbox, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sb, err := p.Create(context.Background(), sandbox.CreateOptions{})
			if err == nil {
				boxes[i] = sb.(*Sandbox)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, s := range boxes {
		if errs[i] != nil {
			t.Errorf("create %d: %v", i, errs[i])
			continue
		}
		defer s.Close(context.Background())
		if owner := userNSOwner(t, s.child.cmd.Process.Pid); owner != s.uid {
			t.Errorf("sandbox %d (uid %d): namespace owned by %d", i, s.uid, owner)
		}
	}
	if groups, err := syscall.Getgroups(); err != nil || os.Geteuid() != 0 {
		t.Fatalf("the host process's credentials after the creates: euid %d, groups %v %v", os.Geteuid(), groups, err)
	}
}

// TestSandboxedCodeRunsBelowTheHost: sandboxed processes run at the
// provider's nice value (WithNice; the host's own by default), inherited
// by what they start, and cannot raise their priority back, so without a
// CPU cgroup a niced sandbox still yields the CPU to the host process.
func TestSandboxedCodeRunsBelowTheHost(t *testing.T) {
	probe := `
import os, subprocess
try:
    os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) - 1)
    raised = "raised"
except PermissionError:
    raised = "refused"
child = subprocess.run(["sh", "-c", "cut -d' ' -f19 /proc/self/stat"], capture_output=True, text=True).stdout.strip()
print(os.getpriority(os.PRIO_PROCESS, 0), child, raised)
`
	for _, c := range []struct {
		p    *Provider
		want string
	}{
		{sharedProvider(t), "0 0 refused"},
		{newProvider(t, WithNice(10)), "10 10 refused"},
		{newProvider(t, WithNice(3)), "3 3 refused"},
	} {
		for _, stateless := range []bool{false, true} {
			s := newSandbox(t, c.p, sandbox.CreateOptions{Stateless: stateless})
			if got := strings.TrimSpace(mustSucceed(t, s, probe).StdoutText()); got != c.want {
				t.Fatalf("stateless %v: nice, a child's nice, raising it: %q, want %q", stateless, got, c.want)
			}
		}
	}
}

// TestSandboxedProcessesAreTheOOMKillersFirstChoice: every process of a
// sandbox has the highest oom_score_adj, so under memory pressure the
// kernel kills a sandboxed process (the largest) before any of the
// host's, and the code cannot lower it.
func TestSandboxedProcessesAreTheOOMKillersFirstChoice(t *testing.T) {
	p := sharedProvider(t)
	if !p.Isolation().Has("oom_first") {
		t.Fatalf("oom_first not active: %s (missing %v)", p.Isolation(), p.Isolation().Missing)
	}
	for _, stateless := range []bool{false, true} {
		s := newSandbox(t, p, sandbox.CreateOptions{Stateless: stateless})
		ex := mustSucceed(t, s, `
import os, subprocess
try:
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("0")
    lowered = "lowered"
except OSError as e:
    lowered = "refused"
child = subprocess.run(["cat", "/proc/self/oom_score_adj"], capture_output=True, text=True).stdout.strip()
print(open("/proc/self/oom_score_adj").read().strip(), child, lowered)
`)
		if got := strings.TrimSpace(ex.StdoutText()); got != "1000 1000 refused" {
			t.Fatalf("stateless %v: oom_score_adj of the code, of a child, lowering it: %q", stateless, got)
		}
		for _, pid := range processTree(s.child.cmd.Process.Pid) {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/oom_score_adj")
			if err == nil && strings.TrimSpace(string(b)) != "1000" {
				t.Fatalf("sandbox process %d has oom_score_adj %s", pid, b)
			}
		}
	}
}
