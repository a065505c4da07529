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
)

// cgroupV1 uses the cgroup v1 hierarchies of the memory, pids and cpu
// controllers in which the host process may create cgroups (as root,
// typically). cgroup v1 has no CLONE_INTO_CGROUP: the init is moved in
// after it starts, before it may go on (see startChild).
type cgroupV1 struct {
	hier []v1Hierarchy
}

// v1Hierarchy is one mounted hierarchy: the host process's cgroup in it
// and the wanted controllers it carries.
type v1Hierarchy struct {
	own   string
	ctrls []string
}

// cfsPeriod is the CFS bandwidth period of a sandbox's CPU quota, in µs.
// The quota may also burst by as much again from what earlier periods
// left unused (cpu.cfs_burst_us, cpu.max.burst): a stateless sandbox
// forks and prepares the next call's process while a call runs, a short
// burst past one core that would otherwise be throttled for the rest of
// the period (tens of milliseconds at the 99th percentile).
const cfsPeriod = 100_000

// openCgroupV1 finds the hierarchies of the memory, pids and cpu
// controllers where a directory dir can be created under the host
// process's cgroup (created and removed to find out).
func openCgroupV1(own map[string]string, mounts []cgroupMount, dir string) (*cgroupV1, error) {
	fs := &cgroupV1{}
	var reasons []string
	for _, c := range []string{"memory", "pids", "cpu"} {
		path, ok := own[c]
		if !ok {
			reasons = append(reasons, c+": not mounted")
			continue
		}
		var d string
		for _, m := range mounts {
			if !m.v2 && contains(m.controllers, c) {
				d = ownDir(m, path)
				break
			}
		}
		if d == "" {
			reasons = append(reasons, c+": hierarchy not visible")
			continue
		}
		if i := fs.index(d); i >= 0 {
			fs.hier[i].ctrls = append(fs.hier[i].ctrls, c)
			continue
		}
		probe := filepath.Join(d, dir)
		if err := os.Mkdir(probe, 0o755); err != nil {
			reasons = append(reasons, fmt.Sprintf("%s: %v", c, err))
			continue
		}
		syscall.Rmdir(probe)
		fs.hier = append(fs.hier, v1Hierarchy{own: d, ctrls: []string{c}})
	}
	if len(fs.hier) == 0 {
		return nil, errors.New(strings.Join(reasons, "; "))
	}
	return fs, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func (fs *cgroupV1) index(own string) int {
	for i, h := range fs.hier {
		if h.own == own {
			return i
		}
	}
	return -1
}

func (fs *cgroupV1) name() string {
	var all []string
	for _, c := range []string{"memory", "pids", "cpu"} {
		if fs.has(c) {
			all = append(all, c)
		}
	}
	return "cgroup_v1(" + strings.Join(all, ",") + ")"
}

func (fs *cgroupV1) has(c string) bool { return fs.hierOf(c) >= 0 }

func (fs *cgroupV1) hierOf(c string) int {
	for i, h := range fs.hier {
		if contains(h.ctrls, c) {
			return i
		}
	}
	return -1
}

// leafOf is the leaf directory of controller c, or "".
func (fs *cgroupV1) leafOf(leaf []string, c string) string {
	if i := fs.hierOf(c); i >= 0 && i < len(leaf) {
		return leaf[i]
	}
	return ""
}

func (fs *cgroupV1) makeParent(dir string) ([]string, error) {
	var paths []string
	for _, h := range fs.hier {
		p := filepath.Join(h.own, dir)
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			removeCgroupDirs(paths)
			return nil, err
		}
		paths = append(paths, p)
		if contains(h.ctrls, "cpu") {
			// All the provider's sandboxes together weigh like one process
			// group (an autogroup, a session) of the host.
			if err := writeCgroup(p, "cpu.shares", "1024"); err != nil {
				removeCgroupDirs(paths)
				return nil, err
			}
		}
	}
	return paths, nil
}

func (fs *cgroupV1) makeLeaf(parents []string, id string, lim cgroupLimits) ([]string, error) {
	var leaf []string
	for i, h := range fs.hier {
		p := filepath.Join(parents[i], id)
		if err := os.Mkdir(p, 0o755); err != nil {
			return leaf, err
		}
		leaf = append(leaf, p)
		var err error
		for _, c := range h.ctrls {
			switch c {
			case "memory":
				err = setMemoryV1(p, lim)
			case "pids":
				if lim.pids > 0 {
					err = writeCgroup(p, "pids.max", strconv.Itoa(lim.pids))
				}
			case "cpu":
				if lim.cpuCores > 0 {
					quota := max(1000, int(lim.cpuCores*cfsPeriod))
					err = errors.Join(writeCgroup(p, "cpu.cfs_period_us", strconv.Itoa(cfsPeriod)),
						writeCgroup(p, "cpu.cfs_quota_us", strconv.Itoa(quota)))
					if _, serr := os.Stat(filepath.Join(p, "cpu.cfs_burst_us")); serr == nil && err == nil {
						err = writeCgroup(p, "cpu.cfs_burst_us", strconv.Itoa(quota))
					}
				}
			}
			if err != nil {
				return leaf, err
			}
		}
	}
	return leaf, nil
}

// setMemoryV1 limits memory, memory plus swap where swap is accounted,
// and TCP buffers (setting the limit is what makes the cgroup account
// them).
func setMemoryV1(p string, lim cgroupLimits) error {
	if lim.memory <= 0 {
		return nil
	}
	v := strconv.FormatInt(lim.memory, 10)
	if err := writeCgroup(p, "memory.limit_in_bytes", v); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(p, "memory.memsw.limit_in_bytes")); err == nil {
		// Memory and swap together: no swapping past the budget.
		if err := writeCgroup(p, "memory.memsw.limit_in_bytes", v); err != nil {
			return err
		}
	}
	if lim.tcp > 0 {
		if _, err := os.Stat(filepath.Join(p, "memory.kmem.tcp.limit_in_bytes")); err == nil {
			return writeCgroup(p, "memory.kmem.tcp.limit_in_bytes", strconv.FormatInt(lim.tcp, 10))
		}
	}
	return nil
}

func (fs *cgroupV1) cloneFD([]string) int { return -1 }

func (fs *cgroupV1) enter(leaf []string, pid int) error {
	for _, p := range leaf {
		if err := writeCgroup(p, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

func (fs *cgroupV1) oomKills(leaf []string) (int64, error) {
	p := fs.leafOf(leaf, "memory")
	if p == "" {
		return 0, errors.New("no memory cgroup")
	}
	return readCgroupKey(p, "memory.oom_control", "oom_kill")
}

func (fs *cgroupV1) peak(leaf []string) int64 {
	n, _ := readCgroupInt(fs.leafOf(leaf, "memory"), "memory.max_usage_in_bytes")
	return n
}

func (fs *cgroupV1) procs(leaf []string) []int {
	seen := map[int]bool{}
	var all []int
	for _, p := range leaf {
		for _, pid := range readProcs(p) {
			if !seen[pid] {
				seen[pid] = true
				all = append(all, pid)
			}
		}
	}
	return all
}

// killAll sends SIGKILL to every process listed in the leaf, a few rounds
// (v1 has no cgroup.kill; processes forked meanwhile are caught by the
// next round, and the pids limit bounds how many there can be).
func (fs *cgroupV1) killAll(leaf []string) {
	for range 16 {
		pids := fs.procs(leaf)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
