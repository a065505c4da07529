//go:build linux

package local

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
)

var quiet = slog.New(slog.DiscardHandler)

var (
	sharedOnce sync.Once
	shared     *Provider
	sharedErr  error
)

// sharedProvider is a default provider used by tests that need no
// options, except a longer interrupt grace: on a busy test host the
// interpreter may take more than the default 100 ms to answer an
// interrupt, and the tests that check the KeyboardInterrupt reaches the
// caller would then fail for the host's load (the default's own
// behaviour is TestInterruptGraceEndsInAKill's).
func sharedProvider(t testing.TB) *Provider {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = New(observability.WithLogger(quiet), WithInterruptGrace(5*time.Second)) })
	if sharedErr != nil {
		t.Fatalf("New: %v", sharedErr)
	}
	return shared
}

func newProvider(t testing.TB, opts ...Option) *Provider {
	t.Helper()
	p, err := New(append([]Option{observability.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func newSandbox(t testing.TB, p *Provider, opts sandbox.CreateOptions) *Sandbox {
	t.Helper()
	s, err := p.create(context.Background(), opts)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// run executes code and fails the test on an infrastructure error.
func run(t testing.TB, s *Sandbox, code string) *sandbox.Execution {
	t.Helper()
	ex, err := s.Run(context.Background(), code, sandbox.RunOptions{Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("Run(%.60q): %v", code, err)
	}
	return ex
}

// mustSucceed runs code and fails the test if the code raised.
func mustSucceed(t testing.TB, s *Sandbox, code string) *sandbox.Execution {
	t.Helper()
	ex := run(t, s, code)
	if ex.Error != nil {
		t.Fatalf("Run(%.60q): unexpected error %s\n%s", code, ex.Error, ex.Error.Traceback)
	}
	return ex
}

// assertHealthy checks that the provider still serves a normal request on
// a fresh sandbox.
func assertHealthy(t *testing.T, p *Provider) {
	t.Helper()
	s := newSandbox(t, p, sandbox.CreateOptions{})
	ex := mustSucceed(t, s, "print('ok'); 6*7")
	if ex.StdoutText() != "ok\n" || ex.Text() != "42" {
		t.Fatalf("after hostile input: stdout %q text %q", ex.StdoutText(), ex.Text())
	}
	s.Close(context.Background())
}

// processTree returns the pids of root and all its descendants.
func processTree(root int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		if len(f) > 2 {
			ppid, _ := strconv.Atoi(f[1])
			parent[pid] = ppid
		}
	}
	in := map[int]bool{root: true}
	for changed := true; changed; {
		changed = false
		for pid, pp := range parent {
			if in[pp] && !in[pid] {
				in[pid] = true
				changed = true
			}
		}
	}
	var out []int
	for pid := range in {
		if _, ok := parent[pid]; ok {
			out = append(out, pid)
		}
	}
	return out
}

func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// assertGone checks that no listed process exists any more.
func assertGone(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
				t.Fatalf("process %d (%q) still alive", pid, b)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// assertCleanedUp checks that a closed sandbox left no process, directory
// or mount behind.
func assertCleanedUp(t *testing.T, s *Sandbox, pids []int) {
	t.Helper()
	assertGone(t, pids)
	if _, err := os.Stat(s.dirs.base); !os.IsNotExist(err) {
		t.Fatalf("sandbox dir %s still exists (err %v)", s.dirs.base, err)
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mi), s.dirs.base) {
		t.Fatalf("a mount of %s is left on the host", s.dirs.base)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// needRoot skips a test that only a root host process can run, except in
// CI (CI=true), which runs as root: there a missing privilege fails the
// test instead of hiding it.
func needRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("needs root (%s), and CI must not skip it", why)
	}
	t.Skipf("needs root: %s", why)
}
