//go:build linux

package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
)

// providerDirs returns the provider's cgroup directory in each hierarchy,
// under the host process's own cgroup (as /proc/self/cgroup and the
// mounts say, read independently of the manager).
func providerDirs(t *testing.T, p *Provider) []string {
	t.Helper()
	own, mounts, err := readCgroupSelf()
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	switch fs := p.cgroups.fs.(type) {
	case *cgroupV1:
		for _, h := range fs.hier {
			c := h.ctrls[0]
			for _, m := range mounts {
				if !m.v2 && contains(m.controllers, c) {
					dirs = append(dirs, filepath.Join(ownDir(m, own[c]), p.cgroups.dir))
				}
			}
		}
	case *cgroupV2:
		dirs = append(dirs, filepath.Join(fs.own, p.cgroups.dir))
	}
	if len(dirs) == 0 {
		t.Fatal("no provider directory")
	}
	return dirs
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// The sandbox's cgroups are created under the host process's own cgroup,
// hold the init, carry the limits, are the root of the sandbox's cgroup
// namespace, and are removed with the sandbox (the provider's directory
// with the last one). The host process stays where it was.
func TestCgroupDirsUnderOwnCgroup(t *testing.T) {
	before, _ := os.ReadFile("/proc/self/cgroup")
	p := newProvider(t, WithMemoryBudget(300<<20), WithMaxProcesses(40), WithCPUQuota(0.5))
	if p.cgroups == nil {
		if p.Isolation().Missing["cgroup"] == "" || p.cgroupMemory() {
			t.Fatalf("no cgroups, but the isolation report does not say so: %v", p.Isolation())
		}
		t.Logf("no cgroup on this host: %s", p.Isolation().Missing["cgroup"])
		return
	}
	if !p.Isolation().Has(p.cgroups.fs.name()) {
		t.Fatalf("isolation %v does not name %s", p.Isolation(), p.cgroups.fs.name())
	}
	parents := providerDirs(t, p)
	a := newSandbox(t, p, sandbox.CreateOptions{})
	b := newSandbox(t, p, sandbox.CreateOptions{Stateless: true})
	for _, s := range []*Sandbox{a, b} {
		if len(s.cg.leaf) != len(parents) {
			t.Fatalf("leaf %v, parents %v", s.cg.leaf, parents)
		}
		for i, leaf := range s.cg.leaf {
			if leaf != filepath.Join(parents[i], s.id) {
				t.Fatalf("leaf %s not under %s", leaf, parents[i])
			}
			if pids := readProcs(leaf); !slices.Contains(pids, s.child.cmd.Process.Pid) {
				t.Fatalf("init %d not in %s (%v)", s.child.cmd.Process.Pid, leaf, pids)
			}
		}
		inside := mustSucceed(t, s, "print(open('/proc/self/cgroup').read())").StdoutText()
		for line := range strings.SplitSeq(strings.TrimSpace(inside), "\n") {
			if !strings.HasSuffix(line, ":/") && s.iso.Has("cgroupns") {
				t.Fatalf("inside, /proc/self/cgroup shows a host path: %q", inside)
			}
		}
	}
	if fs, ok := p.cgroups.fs.(*cgroupV1); ok {
		for _, c := range []struct{ ctrl, file, want string }{
			{"memory", "memory.limit_in_bytes", strconv.Itoa(300 << 20)},
			{"memory", "memory.kmem.tcp.limit_in_bytes", strconv.Itoa(maxTCPMemory)},
			{"pids", "pids.max", strconv.Itoa(40 + sandboxOwnTasks)},
			{"cpu", "cpu.cfs_quota_us", "50000"},
		} {
			dir := fs.leafOf(a.cg.leaf, c.ctrl)
			if dir == "" || (c.file == "memory.kmem.tcp.limit_in_bytes" && !exists(filepath.Join(dir, c.file))) {
				continue
			}
			got, _ := os.ReadFile(filepath.Join(dir, c.file))
			// The kernel rounds byte limits down to pages.
			if g, _ := strconv.ParseInt(strings.TrimSpace(string(got)), 10, 64); strings.TrimSpace(string(got)) != c.want && fmt.Sprint(g&^4095) != fmt.Sprint(mustAtoi(c.want)&^4095) {
				t.Errorf("%s = %q, want %s", c.file, got, c.want)
			}
		}
	}
	a.Close(context.Background())
	for _, leaf := range a.cg.leaf {
		if exists(leaf) {
			t.Fatalf("%s left after Close", leaf)
		}
	}
	b.Close(context.Background())
	for _, d := range parents {
		if exists(d) {
			t.Fatalf("provider directory %s left after its last sandbox", d)
		}
	}
	if after, _ := os.ReadFile("/proc/self/cgroup"); string(after) != string(before) {
		t.Fatalf("the host process moved: %q -> %q", before, after)
	}
}

// The isolation record is logged complete: with uid_per_sandbox and the
// cgroup layer (or the reason for none).
func TestCgroupIsolationRecordComplete(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	loggedIsolation.Clear()
	p := newProvider(t, observability.WithLogger(log))
	rec := buf.String()
	for _, layer := range p.Isolation().Active {
		if !strings.Contains(rec, layer) {
			t.Fatalf("logged record %q lacks %q", rec, layer)
		}
	}
	if p.cgroups == nil && !strings.Contains(rec, "cgroup") {
		t.Fatalf("logged record %q does not say why there is no cgroup", rec)
	}
}

func mustAtoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// No cgroup directory is left behind by many creates and closes, a crash,
// a timeout, an OOM kill and the provider's Close.
func TestCgroupNoDirectoryLeftBehind(t *testing.T) {
	p := newProvider(t, WithMemoryBudget(128<<20))
	if p.cgroups == nil {
		t.Logf("no cgroup on this host: %s", p.Isolation().Missing["cgroup"])
		return
	}
	parents := providerDirs(t, p)
	ctx := context.Background()
	var leaves []string
	keep := newSandbox(t, p, sandbox.CreateOptions{}) // holds the provider's directory
	for i := range 12 {
		s := newSandbox(t, p, sandbox.CreateOptions{Stateless: i%2 == 0})
		leaves = append(leaves, s.cg.leaf...)
		switch i {
		case 0:
			if _, err := s.Run(ctx, "import os; os._exit(3)", sandbox.RunOptions{}); err == nil {
				t.Fatal("crash not reported")
			}
		case 1:
			if _, err := s.Run(ctx, "import time, subprocess\nsubprocess.Popen(['sleep', '60'], start_new_session=True)\ntime.sleep(60)", sandbox.RunOptions{Timeout: 300 * time.Millisecond}); err == nil {
				t.Fatal("timeout not reported")
			}
		case 2:
			_, err := s.Run(ctx, "x = b'x' * (400 << 20)", sandbox.RunOptions{Timeout: 30 * time.Second})
			var le *sandbox.LimitError
			if !errors.As(err, &le) {
				t.Fatalf("OOM: err = %v", err)
			}
		default:
			mustSucceed(t, s, "1")
		}
		s.Close(ctx)
	}
	for _, l := range leaves {
		if exists(l) {
			t.Fatalf("%s left behind", l)
		}
	}
	for _, d := range parents {
		entries, _ := os.ReadDir(d)
		if len(entries) == 0 {
			continue
		}
		for _, e := range entries {
			if e.IsDir() && e.Name() != keep.id {
				t.Fatalf("%s/%s left behind", d, e.Name())
			}
		}
	}
	p.Close()
	for _, d := range parents {
		if exists(d) {
			t.Fatalf("%s left after Provider.Close", d)
		}
	}
}

// cgroup v2, in the unified hierarchy of this host (or one mounted here):
// the init starts in its cgroup (CLONE_INTO_CGROUP), the sandbox sees
// its cgroup as "/", cgroup.kill ends every process (sessions included),
// and the directories go with the sandbox. Controllers cannot be tested
// where the hierarchy has none; the test logs which it has.
func TestCgroupV2Hierarchy(t *testing.T) {
	root := v2Root(t)
	if root == "" {
		return
	}
	b, _ := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	var ctrls []string
	for _, c := range []string{"memory", "pids", "cpu"} {
		if contains(strings.Fields(string(b)), c) && enableControllers(root, []string{c}) == nil {
			ctrls = append(ctrls, c)
		}
	}
	t.Logf("cgroup v2 at %s, controllers %q, usable for sandboxes: %v", root, strings.TrimSpace(string(b)), ctrls)
	m := &cgroups{fs: &cgroupV2{own: root, ctrls: ctrls}, dir: fmt.Sprintf("ttadev-test-%d", os.Getpid())}
	p := newProvider(t, withCgroups(m))
	if !p.Isolation().Has("cgroup_v2") {
		t.Fatalf("isolation %v", p.Isolation())
	}
	s := newSandbox(t, p, sandbox.CreateOptions{})
	if !s.cg.cloned {
		t.Fatal("the init was not started in its cgroup with CLONE_INTO_CGROUP")
	}
	rel := "/" + m.dir + "/" + s.id
	self, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", s.child.cmd.Process.Pid))
	if !strings.Contains(string(self), "0::"+rel+"\n") {
		t.Fatalf("init's cgroups %q, want 0::%s", self, rel)
	}
	inside := mustSucceed(t, s, `
import subprocess
for _ in range(3):
    subprocess.Popen(["sleep", "60"], start_new_session=True)
print(open("/proc/self/cgroup").read())`).StdoutText()
	if s.iso.Has("cgroupns") && !strings.Contains(inside, "0::/\n") {
		t.Fatalf("inside: %q", inside)
	}
	if n := len(s.cg.m.fs.procs(s.cg.leaf)); n < 5 {
		t.Fatalf("%d processes in the cgroup, want init, worker and 3 sleeps", n)
	}
	s.cg.m.fs.killAll(s.cg.leaf) // cgroup.kill
	deadline := time.Now().Add(5 * time.Second)
	for len(s.cg.m.fs.procs(s.cg.leaf)) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.cg.m.fs.procs(s.cg.leaf); len(n) > 0 {
		t.Fatalf("cgroup.kill left %v", n)
	}
	if _, err := s.Run(context.Background(), "1", sandbox.RunOptions{}); err == nil {
		t.Fatal("the sandbox survived cgroup.kill")
	}
	s.Close(context.Background())
	if exists(filepath.Join(root, m.dir)) {
		t.Fatalf("%s left behind", filepath.Join(root, m.dir))
	}
}

// v2Root returns a writable cgroup v2 hierarchy where this process sits at
// the root: the host's (as on this machine's kind, /sys/fs/cgroup/unified)
// or one mounted in a temporary directory. "" (logged) when neither
// exists, as for an unprivileged process.
func v2Root(t *testing.T) string {
	own, mounts, err := readCgroupSelf()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		if m.v2 && own[""] == "/" && m.root == "/" && unix.Access(m.point, unix.W_OK) == nil {
			return m.point
		}
	}
	dir := t.TempDir()
	if err := unix.Mount("none", dir, "cgroup2", 0, ""); err != nil {
		t.Logf("no cgroup v2 hierarchy to test in: %v (sandboxes use v1 or none, see Isolation)", err)
		return ""
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	if b, _ := os.ReadFile("/proc/self/cgroup"); !strings.Contains(string(b), "0::/\n") {
		t.Logf("this process is not at the root of cgroup v2 (%q)", b)
		return ""
	}
	return dir
}
