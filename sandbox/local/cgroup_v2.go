//go:build linux

package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// cgroupV2 uses the unified hierarchy. A cgroup v2 with processes of its
// own cannot give controllers to its children ("no internal processes"),
// and the host process never leaves its cgroup: so v2 is used only where
// the host process's cgroup can enable the controllers for its children —
// the root of the hierarchy (as in a container with its own cgroup
// namespace whose processes sit at its root, or a host process in the
// root cgroup), or a cgroup where they are already enabled. Elsewhere
// (e.g. a systemd service's own cgroup) the provider falls back to v1 or
// to no cgroup. The init starts in its cgroup (CLONE_INTO_CGROUP).
type cgroupV2 struct {
	own   string
	ctrls []string // enabled for children of own
}

// openCgroupV2 returns the v2 hierarchy when the host process's cgroup
// offers some of want and may enable them for its children.
func openCgroupV2(own map[string]string, mounts []cgroupMount, want []string) (*cgroupV2, error) {
	path, ok := own[""]
	if !ok {
		return nil, errors.New("no cgroup v2 hierarchy")
	}
	var dir string
	for _, m := range mounts {
		if m.v2 {
			if dir = ownDir(m, path); dir != "" {
				break
			}
		}
	}
	if dir == "" {
		return nil, errors.New("cgroup v2 not mounted")
	}
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	avail := strings.Fields(string(b))
	var ctrls []string
	for _, c := range want {
		if contains(avail, c) {
			ctrls = append(ctrls, c)
		}
	}
	if !contains(ctrls, "memory") {
		return nil, fmt.Errorf("%s offers no memory controller (has %q)", dir, avail)
	}
	if err := enableControllers(dir, ctrls); err != nil {
		return nil, err
	}
	return &cgroupV2{own: dir, ctrls: ctrls}, nil
}

// enableControllers makes ctrls available to dir's children, unless they
// already are. It fails (EBUSY) where dir has processes of its own and is
// not the root.
func enableControllers(dir string, ctrls []string) error {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return err
	}
	on := strings.Fields(string(b))
	var add []string
	for _, c := range ctrls {
		if !contains(on, c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	return writeCgroup(dir, "cgroup.subtree_control", strings.Join(add, " "))
}

func (fs *cgroupV2) name() string {
	return "cgroup_v2(" + strings.Join(fs.ctrls, ",") + ")"
}

func (fs *cgroupV2) has(c string) bool { return contains(fs.ctrls, c) }

func (fs *cgroupV2) makeParent(dir string) ([]string, error) {
	p := filepath.Join(fs.own, dir)
	if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	err := enableControllers(p, fs.ctrls)
	if err == nil && fs.has("cpu") {
		// All the provider's sandboxes together weigh like one cgroup of
		// default weight.
		err = writeCgroup(p, "cpu.weight", "100")
	}
	if err != nil {
		syscall.Rmdir(p)
		return nil, err
	}
	return []string{p}, nil
}

func (fs *cgroupV2) makeLeaf(parents []string, id string, lim cgroupLimits) ([]string, error) {
	p := filepath.Join(parents[0], id)
	if err := os.Mkdir(p, 0o755); err != nil {
		return nil, err
	}
	leaf := []string{p}
	var errs []error
	if fs.has("memory") && lim.memory > 0 {
		errs = append(errs, writeCgroup(p, "memory.max", strconv.FormatInt(lim.memory, 10)),
			// The budget is hit: the whole sandbox goes, not one process.
			writeCgroup(p, "memory.oom.group", "1"))
		if _, err := os.Stat(filepath.Join(p, "memory.swap.max")); err == nil {
			errs = append(errs, writeCgroup(p, "memory.swap.max", "0"))
		}
	}
	if fs.has("pids") && lim.pids > 0 {
		errs = append(errs, writeCgroup(p, "pids.max", strconv.Itoa(lim.pids)))
	}
	if fs.has("cpu") && lim.cpuCores > 0 {
		quota := max(1000, int(lim.cpuCores*cfsPeriod))
		errs = append(errs, writeCgroup(p, "cpu.max", fmt.Sprintf("%d %d", quota, cfsPeriod)))
		if _, err := os.Stat(filepath.Join(p, "cpu.max.burst")); err == nil {
			errs = append(errs, writeCgroup(p, "cpu.max.burst", strconv.Itoa(quota)))
		}
	}
	return leaf, errors.Join(errs...)
}

func (fs *cgroupV2) cloneFD(leaf []string) int {
	fd, err := unix.Open(leaf[0], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1 // enter moves the init instead
	}
	return fd
}

func (fs *cgroupV2) enter(leaf []string, pid int) error {
	return writeCgroup(leaf[0], "cgroup.procs", strconv.Itoa(pid))
}

func (fs *cgroupV2) oomKills(leaf []string) (int64, error) {
	return readCgroupKey(leaf[0], "memory.events", "oom_kill")
}

func (fs *cgroupV2) peak(leaf []string) int64 {
	if n, err := readCgroupInt(leaf[0], "memory.peak"); err == nil {
		return n
	}
	n, _ := readCgroupInt(leaf[0], "memory.current")
	return n
}

func (fs *cgroupV2) procs(leaf []string) []int { return readProcs(leaf[0]) }

// killAll kills every process of the cgroup at once (cgroup.kill, Linux
// 5.14), or one by one on an older kernel.
func (fs *cgroupV2) killAll(leaf []string) {
	if writeCgroup(leaf[0], "cgroup.kill", "1") == nil {
		return
	}
	for range 16 {
		pids := readProcs(leaf[0])
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
