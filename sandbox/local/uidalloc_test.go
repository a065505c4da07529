//go:build linux

package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// uidHolderEnv, when set ("first count") in a re-executed test binary,
// makes it a uid holder (see uidHolderMain) instead of running tests.
const uidHolderEnv = "TTADEV_TEST_UID_HOLDER"

func init() {
	if spec := os.Getenv(uidHolderEnv); spec != "" {
		uidHolderMain(spec)
	}
}

// uidHolderMain waits for a line on stdin, then reserves every uid it can
// of the range through the host-wide allocator, prints "held" and them,
// and keeps them until stdin closes (or the process is killed).
func uidHolderMain(spec string) {
	var first, count int
	if _, err := fmt.Sscanf(spec, "%d %d", &first, &count); err != nil {
		fmt.Println("bad spec", err)
		os.Exit(2)
	}
	a, err := sharedUIDAllocator()
	if err != nil {
		fmt.Println("allocator:", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	in := bufio.NewReader(os.Stdin)
	in.ReadString('\n')
	held := []string{"held"}
	for {
		time.Sleep(100 * time.Microsecond) // let the other holders interleave
		uid, _, err := a.acquire(first, count, 0)
		if err != nil {
			if _, ok := errors.AsType[*HostUIDsExhaustedError](err); !ok {
				fmt.Println("acquire:", err)
				os.Exit(2)
			}
			break
		}
		held = append(held, strconv.Itoa(uid))
	}
	fmt.Println(strings.Join(held, " "))
	io.Copy(io.Discard, in)
	os.Exit(0)
}

// uidHolder is a helper process holding uids of a range.
type uidHolder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startUIDHolder(t *testing.T, first, count int) *uidHolder {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %d", uidHolderEnv, first, count))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &uidHolder{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() { h.stdin.Close(); h.cmd.Process.Kill(); h.cmd.Wait() })
	if line, err := h.out.ReadString('\n'); line != "ready\n" {
		t.Fatalf("uid holder said %q (%v)", line, err)
	}
	return h
}

// held reads the uids the holder reports holding.
func (h *uidHolder) held(t *testing.T) []int {
	t.Helper()
	line, err := h.out.ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) == 0 || f[0] != "held" {
		t.Fatalf("uid holder said %q (%v)", line, err)
	}
	var uids []int
	for _, s := range f[1:] {
		n, _ := strconv.Atoi(s)
		uids = append(uids, n)
	}
	return uids
}

var testUIDRanges atomic.Int64

// testUIDRange returns the first uid of a range of n uids that no other
// test of this process uses and that test processes running at the same
// time on the host (other checkouts) are unlikely to use: the host-wide
// allocator would otherwise, rightly, keep them apart.
func testUIDRange(n int) int {
	if n > 256 {
		panic("testUIDRange: at most 256 uids")
	}
	return 0x60000000 + (os.Getpid()%4096)*0x1000 + int(testUIDRanges.Add(1)%16)*256
}

// TestHostUIDsAreUniqueAcrossProvidersInAProcess: two providers of one
// process over the same range, creating sandboxes from many goroutines at
// once, never give two live sandboxes the same host uid (each provider
// used to count from the start of the range on its own).
func TestHostUIDsAreUniqueAcrossProvidersInAProcess(t *testing.T) {
	needRoot(t, "one uid per sandbox needs a root host process")
	base := testUIDRange(64)
	ps := []*Provider{newProvider(t, WithHostUIDRange(base, 64)), newProvider(t, WithHostUIDRange(base, 64))}
	const perProvider = 12
	boxes := make([]*Sandbox, 2*perProvider)
	var wg sync.WaitGroup
	for i := range boxes {
		wg.Go(func() {
			s, err := ps[i%2].create(context.Background(), sandbox.CreateOptions{})
			if err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			boxes[i] = s
		})
	}
	wg.Wait()
	owner := map[int]int{}
	for i, s := range boxes {
		if s == nil {
			continue
		}
		t.Cleanup(func() { s.Close(context.Background()) })
		if j, dup := owner[s.uid]; dup {
			t.Errorf("sandboxes %d (provider %d) and %d (provider %d) both run as host uid %#x", j, j%2, i, i%2, s.uid)
		}
		owner[s.uid] = i
		if got := hostUIDs(t, s); len(got) != 1 || !got[s.uid] {
			t.Errorf("sandbox %d: processes run as host uids %v, want only %#x", i, got, s.uid)
		}
	}
}

// TestHostUIDsAreUniqueAcrossProcesses: two other processes and this one
// reserve uids of one range at the same time; no uid is held twice, and
// together they hold the whole range. When one holder is killed
// (SIGKILL: nothing of it runs to release anything), exactly its uids
// become free.
func TestHostUIDsAreUniqueAcrossProcesses(t *testing.T) {
	needRoot(t, "the host-wide uid locks live in a root-owned directory")
	const n = 240
	base := testUIDRange(n)
	a, err := sharedUIDAllocator()
	if err != nil {
		t.Fatal(err)
	}
	holders := []*uidHolder{startUIDHolder(t, base, n), startUIDHolder(t, base, n)}
	for _, h := range holders {
		io.WriteString(h.stdin, "go\n")
	}
	var mine []int
	for {
		time.Sleep(100 * time.Microsecond)
		uid, _, err := a.acquire(base, n, 0)
		if err != nil {
			if _, ok := errors.AsType[*HostUIDsExhaustedError](err); !ok {
				t.Fatal(err)
			}
			break
		}
		mine = append(mine, uid)
	}
	t.Cleanup(func() {
		for _, u := range mine {
			a.release(u)
		}
	})
	theirs := [][]int{holders[0].held(t), holders[1].held(t)}
	count := map[int]int{}
	for _, set := range append(theirs, mine) {
		for _, u := range set {
			count[u]++
		}
	}
	for u, c := range count {
		if c > 1 || u < base || u >= base+n {
			t.Errorf("uid %#x held %d times (range %#x+%d)", u, c, base, n)
		}
	}
	if len(count) != n {
		t.Errorf("%d uids held in all, want the range's %d", len(count), n)
	}
	t.Logf("held: this process %d, helpers %d and %d", len(mine), len(theirs[0]), len(theirs[1]))

	holders[0].cmd.Process.Signal(syscall.SIGKILL)
	holders[0].cmd.Wait()
	var freed []int
	for {
		uid, _, err := a.acquire(base, n, 0)
		if err != nil {
			break
		}
		freed = append(freed, uid)
		mine = append(mine, uid)
	}
	slices.Sort(freed)
	want := slices.Sorted(slices.Values(theirs[0]))
	if !slices.Equal(freed, want) {
		t.Fatalf("after the holder was killed, %d uids became free (%v), want its %d (%v)", len(freed), freed, len(want), want)
	}
}

// TestHostUIDsExhaustedIsTypedAndNotRetryable: with a range of two uids,
// one held by another process, a provider creates one sandbox; the next
// Create fails with *HostUIDsExhaustedError (not retryable), and succeeds
// again once the sandbox is closed.
func TestHostUIDsExhaustedIsTypedAndNotRetryable(t *testing.T) {
	needRoot(t, "one uid per sandbox needs a root host process")
	base := testUIDRange(2)
	h := startUIDHolder(t, base, 1)
	io.WriteString(h.stdin, "go\n")
	if got := h.held(t); !slices.Equal(got, []int{base}) {
		t.Fatalf("holder holds %v, want [%#x]", got, base)
	}
	p := newProvider(t, WithHostUIDRange(base, 2))
	a := newSandbox(t, p, sandbox.CreateOptions{})
	if a.uid != base+1 {
		t.Fatalf("sandbox runs as %#x, want %#x (the other process holds %#x)", a.uid, base+1, base)
	}
	_, err := p.Create(context.Background(), sandbox.CreateOptions{})
	exhausted, ok := errors.AsType[*HostUIDsExhaustedError](err)
	if !ok || exhausted.First != base || exhausted.Count != 2 {
		t.Fatalf("Create with the range used up: %v, want *HostUIDsExhaustedError{%#x, 2}", err, base)
	}
	if recovery.IsRetryable(err) {
		t.Fatal("the exhaustion error is classified retryable")
	}
	t.Logf("error: %v", err)
	a.Close(context.Background())
	b := newSandbox(t, p, sandbox.CreateOptions{})
	if b.uid != base+1 {
		t.Fatalf("after Close: uid %#x, want %#x", b.uid, base+1)
	}
	mustSucceed(t, b, "1")
}

// TestUIDLockDirectoryUntrustedIsRefused: the lock directory is refused
// when another user made it, when it or an ancestor is a symbolic link,
// when it is open to others, when an ancestor lets another user swap it,
// and when its lock file is not root's private regular file; a fresh one
// is created root-owned, mode 0700.
func TestUIDLockDirectoryUntrustedIsRefused(t *testing.T) {
	needRoot(t, "the lock directory must be root's")
	// /tmp is sticky: root's entries in it cannot be swapped by others.
	top, err := os.MkdirTemp("", "uidlock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	os.Chmod(top, 0o755)
	const nobody = 65534

	fresh := filepath.Join(top, "fresh")
	a, err := openUIDAllocator(fresh)
	if err != nil {
		t.Fatalf("a fresh directory: %v", err)
	}
	fi, _ := os.Stat(fresh)
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 0 || fi.Mode().Perm() != 0o700 {
		t.Fatalf("created with uid %d mode %v, want root's 0700", st.Uid, fi.Mode().Perm())
	}
	uid, _, err := a.acquire(testUIDRange(1), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.release(uid)
	a.close()

	mk := func(name string, mode os.FileMode, owner int) string {
		p := filepath.Join(top, name)
		if err := os.Mkdir(p, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		os.Chown(p, owner, owner)
		return p
	}
	cases := map[string]string{}
	cases["made by another user"] = mk("other", 0o700, nobody)
	cases["open to others"] = mk("open", 0o755, 0)
	os.Symlink(fresh, filepath.Join(top, "link"))
	cases["a symbolic link to a good one"] = filepath.Join(top, "link")
	mk("linkparent-target", 0o755, 0)
	os.Symlink(filepath.Join(top, "linkparent-target"), filepath.Join(top, "linkparent"))
	cases["below a symbolic link"] = filepath.Join(top, "linkparent", "uids")
	swappable := mk("swappable", 0o777, 0)
	cases["below a directory others may write"] = filepath.Join(swappable, "uids")
	owned := mk("owned", 0o755, nobody)
	cases["below another user's directory"] = filepath.Join(owned, "uids")

	badFile := mk("badfile", 0o700, 0)
	os.WriteFile(filepath.Join(top, "secret"), nil, 0o600)
	os.Symlink(filepath.Join(top, "secret"), filepath.Join(badFile, hostUIDLockFile))
	cases["whose lock file is a symbolic link"] = badFile
	otherFile := mk("otherfile", 0o700, 0)
	os.WriteFile(filepath.Join(otherFile, hostUIDLockFile), nil, 0o600)
	os.Chown(filepath.Join(otherFile, hostUIDLockFile), nobody, nobody)
	cases["whose lock file another user owns"] = otherFile

	for what, dir := range cases {
		a, err := openUIDAllocator(dir)
		if err == nil {
			a.close()
			t.Errorf("lock directory %s (%s) accepted", what, dir)
			continue
		}
		t.Logf("%s: %v", what, err)
	}
	if _, err := os.Stat(filepath.Join(owned, "uids")); err == nil {
		t.Error("a lock directory was created below another user's directory")
	}
}

// TestTenantsOfTwoProvidersDoNotShareDescriptorsInFlight is finding 11 of
// issue 17: two primitives in one program (one per tenant, as
// examples/seed builds them) over the same range. Tenant a puts
// descriptors in flight over a unix socket until the kernel's per-user
// bound refuses; tenant b still passes 200. Both used to run as the
// range's first uid, and b's sendmsg failed with ETOOMANYREFS.
func TestTenantsOfTwoProvidersDoNotShareDescriptorsInFlight(t *testing.T) {
	needRoot(t, "one uid per sandbox needs a root host process")
	base := testUIDRange(4)
	a := newSandbox(t, newProvider(t, WithHostUIDRange(base, 4)), sandbox.CreateOptions{})
	b := newSandbox(t, newProvider(t, WithHostUIDRange(base, 4)), sandbox.CreateOptions{})
	const flood = `
import array, socket, time
s, r = socket.socketpair()
fds = array.array("i", [s.fileno()] * 200)
sent, err = 0, None
while sent < %d:
    try:
        s.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
    except OSError as e:
        err = e.errno
        break
    sent += 200
print("held", sent, err, flush=True)
time.sleep(%d)
`
	held, finished := hold(t, a, fmt.Sprintf(flood, 1000000, 3))
	var sent int
	var errno string
	if _, err := fmt.Sscanf(held, "held %d %s", &sent, &errno); err != nil || errno != strconv.Itoa(int(syscall.ETOOMANYREFS)) {
		t.Fatalf("tenant a's flood: %q (%v); want it stopped by ETOOMANYREFS", held, err)
	}
	ex := mustSucceed(t, b, fmt.Sprintf(flood, 200, 0))
	if got := strings.TrimSpace(ex.StdoutText()); got != "held 200 None" {
		t.Fatalf("tenant b, while tenant a (uid %#x) holds %d descriptors in flight: %q (uid %#x); want 200 passed", a.uid, sent, got, b.uid)
	}
	finished()
}

// BenchmarkHostUIDAcquireRelease measures one reservation and its release
// through the host-wide allocator: "free" with the range otherwise free,
// "1000-held-elsewhere" with the first 1,000 uids of the range held by
// another open of the lock directory (as another process's sandboxes
// would be), so each acquire tries 1,000 locks before it finds a free one:
// the worst case, as providers start at a random offset of their range.
func BenchmarkHostUIDAcquireRelease(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: the lock directory is root's")
	}
	a, err := sharedUIDAllocator()
	if err != nil {
		b.Fatal(err)
	}
	base := testUIDRange(256) - 0x60000000 + 0x50000000 // 4,096 uids of their own
	b.Run("free", func(b *testing.B) {
		for b.Loop() {
			uid, _, err := a.acquire(base, 4096, 0)
			if err != nil {
				b.Fatal(err)
			}
			a.release(uid)
		}
	})
	b.Run("1000-held-elsewhere", func(b *testing.B) {
		other, err := openUIDAllocator(hostUIDLockDir)
		if err != nil {
			b.Fatal(err)
		}
		defer other.close()
		for range 1000 {
			if _, _, err := other.acquire(base, 1000, 0); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			uid, _, err := a.acquire(base, 4096, 0)
			if err != nil {
				b.Fatal(err)
			}
			a.release(uid)
		}
	})
}
