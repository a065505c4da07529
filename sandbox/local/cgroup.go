//go:build linux

package local

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Each sandbox gets a cgroup of its own when the host process can create
// cgroups under the one it runs in (see detectCgroups): the kernel then
// bounds the sandbox's memory (anonymous, shared and page-cache memory,
// and the kernel memory charged to it: socket buffers among it), its
// processes and threads, and its CPU. The cgroups are nested under the
// host process's own cgroup, in each hierarchy:
//
//	<own cgroup>/ttadev-<host pid>-<provider n>/<sandbox id>
//
// The provider's directory weighs, for the CPU, like one process group
// (all its sandboxes together), and exists while the provider has a
// sandbox. The host process never leaves its cgroup.

// cgroupLimits are what a sandbox's cgroup enforces; a zero field is
// not enforced.
type cgroupLimits struct {
	memory   int64   // bytes of memory (memory.limit_in_bytes, memory.max)
	tcp      int64   // bytes of TCP buffers (cgroup v1 memory.kmem.tcp; v2 counts them in memory)
	pids     int     // processes and threads (pids.max)
	cpuCores float64 // CPU time per wall time (cfs quota, cpu.max)
}

// cgroupFS is one cgroup version's way to set up, watch and remove
// cgroups (cgroupV1, cgroupV2).
type cgroupFS interface {
	// name is the isolation layer, e.g. "cgroup_v1(memory,pids,cpu)".
	name() string
	has(controller string) bool
	// makeParent creates the provider's directory (dir is its name) and
	// returns its paths.
	makeParent(dir string) ([]string, error)
	// makeLeaf creates a sandbox's directory under the parent paths and
	// sets lim.
	makeLeaf(parents []string, id string, lim cgroupLimits) ([]string, error)
	// cloneFD returns a descriptor of the leaf for CLONE_INTO_CGROUP, or
	// -1 when processes must be moved with enter.
	cloneFD(leaf []string) int
	enter(leaf []string, pid int) error
	// oomKills is how many processes the kernel killed in the leaf for
	// going over its memory limit; peak is the most memory it held.
	oomKills(leaf []string) (int64, error)
	peak(leaf []string) int64
	// killAll kills every process in the leaf.
	killAll(leaf []string)
	procs(leaf []string) []int
}

// cgroups is a provider's cgroup manager: the cgroup version in use and
// the provider's directory, created with its first live sandbox and
// removed with its last. It is safe for concurrent use.
type cgroups struct {
	fs     cgroupFS
	dir    string // provider's directory name
	mu     sync.Mutex
	refs   int
	parent []string
}

// sandboxCgroup is one sandbox's cgroup.
type sandboxCgroup struct {
	m    *cgroups
	leaf []string
	fd   int // for CLONE_INTO_CGROUP, or -1
	// cloned: the init was started in the cgroup (CLONE_INTO_CGROUP)
	// rather than moved into it.
	cloned bool
}

var providerSeq atomic.Int64

// detectCgroups finds which cgroup version the host process can use: v2
// when its own cgroup may give the memory, pids or cpu controller to new
// children, else v1 hierarchies of these controllers where it may create
// cgroups, else none (then the reason). It creates and removes a probe
// directory in each.
func detectCgroups() (*cgroups, string) {
	dir := fmt.Sprintf("ttadev-%d-%d", os.Getpid(), providerSeq.Add(1))
	own, mounts, err := readCgroupSelf()
	if err != nil {
		return nil, err.Error()
	}
	var reasons []string
	if fs, err := openCgroupV2(own, mounts, []string{"memory", "pids", "cpu"}); err == nil {
		if err := probeParent(fs, dir); err == nil {
			return &cgroups{fs: fs, dir: dir}, ""
		} else {
			reasons = append(reasons, "v2: "+err.Error())
		}
	} else {
		reasons = append(reasons, "v2: "+err.Error())
	}
	fs, err := openCgroupV1(own, mounts, dir)
	if err == nil {
		return &cgroups{fs: fs, dir: dir}, ""
	}
	reasons = append(reasons, "v1: "+err.Error())
	return nil, strings.Join(reasons, "; ")
}

// probeParent creates and removes the provider's directory.
func probeParent(fs cgroupFS, dir string) error {
	paths, err := fs.makeParent(dir)
	if err != nil {
		return err
	}
	return removeCgroupDirs(paths)
}

// newSandbox creates the cgroup of the sandbox id (and the provider's
// directory if it is the first).
func (m *cgroups) newSandbox(id string, lim cgroupLimits) (*sandboxCgroup, error) {
	m.mu.Lock()
	if m.refs == 0 {
		parent, err := m.fs.makeParent(m.dir)
		if err != nil {
			m.mu.Unlock()
			return nil, fmt.Errorf("local: cgroup: %w", err)
		}
		m.parent = parent
	}
	m.refs++
	parent := m.parent
	m.mu.Unlock()
	leaf, err := m.fs.makeLeaf(parent, id, lim)
	if err != nil {
		removeCgroupDirs(leaf)
		m.release()
		return nil, fmt.Errorf("local: cgroup: %w", err)
	}
	return &sandboxCgroup{m: m, leaf: leaf, fd: m.fs.cloneFD(leaf)}, nil
}

// release drops a sandbox's hold on the provider's directory, removing it
// with the last.
func (m *cgroups) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refs--; m.refs == 0 {
		removeCgroupDirs(m.parent)
		m.parent = nil
	}
}

// closeFD closes the descriptor used to start the init in the cgroup.
func (c *sandboxCgroup) closeFD() {
	if c != nil && c.fd >= 0 {
		syscall.Close(c.fd)
		c.fd = -1
	}
}

// remove kills whatever is left in the cgroup and removes it (and the
// provider's directory with its last sandbox).
func (c *sandboxCgroup) remove() error {
	if c == nil {
		return nil
	}
	c.closeFD()
	var err error
	for i := 0; ; i++ {
		c.m.fs.killAll(c.leaf)
		if err = removeCgroupDirs(c.leaf); err == nil || i == 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err == nil {
		c.m.release()
	}
	return err
}

// memoryLimitHit returns the LimitError for a sandbox whose cgroup's OOM
// killer has run, or nil.
func (c *sandboxCgroup) memoryLimitHit(budget int64) *limitHit {
	if c == nil || !c.m.fs.has("memory") || budget <= 0 {
		return nil
	}
	n, err := c.m.fs.oomKills(c.leaf)
	if err != nil || n == 0 {
		return nil
	}
	return &limitHit{kills: n, peak: c.m.fs.peak(c.leaf)}
}

// limitHit is what the cgroup reports of a memory limit that was hit.
type limitHit struct {
	kills int64
	peak  int64
}

// removeCgroupDirs removes cgroup directories (rmdir: a cgroup's files go
// with it), ignoring ones already gone.
func removeCgroupDirs(paths []string) error {
	var errs []error
	for _, p := range paths {
		if err := syscall.Rmdir(p); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// writeCgroup writes one value into a cgroup file.
func writeCgroup(dir, file, value string) error {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0); err != nil {
		return fmt.Errorf("write %s %q: %w", file, value, err)
	}
	return nil
}

// readCgroupInt reads a cgroup file holding one number ("max" is -1).
func readCgroupInt(dir, file string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return -1, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// readCgroupKey reads the value of key in a flat keyed cgroup file
// ("key value" lines, such as memory.events or memory.oom_control).
func readCgroupKey(dir, file, key string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s", file, key)
}

// readProcs lists the processes of a cgroup directory.
func readProcs(dir string) []int {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for f := range strings.FieldsSeq(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cgroupMount is a mounted cgroup hierarchy.
type cgroupMount struct {
	point, root string
	v2          bool
	controllers []string // v1: the controllers of the hierarchy
}

// readCgroupSelf reads the host process's cgroup in each hierarchy
// (/proc/self/cgroup: hierarchy id, controllers, path; "0::" for v2) and
// the cgroup mounts (/proc/self/mountinfo).
func readCgroupSelf() (own map[string]string, mounts []cgroupMount, err error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, nil, err
	}
	own = map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			own[""] = parts[2] // the v2 hierarchy
			continue
		}
		for c := range strings.SplitSeq(parts[1], ",") {
			own[c] = parts[2]
		}
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if sep < 5 || sep+3 > len(fields) {
			continue
		}
		switch fields[sep+1] {
		case "cgroup2":
			mounts = append(mounts, cgroupMount{point: fields[4], root: fields[3], v2: true})
		case "cgroup":
			var ctrls []string
			for o := range strings.SplitSeq(fields[len(fields)-1], ",") {
				if o != "rw" && o != "ro" && !strings.Contains(o, "=") {
					ctrls = append(ctrls, o)
				}
			}
			mounts = append(mounts, cgroupMount{point: fields[4], root: fields[3], controllers: ctrls})
		}
	}
	return own, mounts, sc.Err()
}

// ownDir is the directory of the host process's cgroup path in a mount,
// or "" when the mount does not show it (its root is elsewhere).
func ownDir(m cgroupMount, path string) string {
	if m.root != "/" {
		if path != m.root && !strings.HasPrefix(path, m.root+"/") {
			return ""
		}
		path = strings.TrimPrefix(path, m.root)
	}
	return filepath.Join(m.point, path)
}
