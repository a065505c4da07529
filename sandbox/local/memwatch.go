//go:build linux

package local

import (
	"encoding/binary"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ttadev/primitives/sandbox"
)

// With a memory cgroup (see cgroup.go) the kernel holds each sandbox to
// its budget, and the watch only reads, for each sandbox, how many of its
// processes the kernel killed for it (one small file): a sandbox with
// such a kill is stopped at once with the *sandbox.LimitError, even when
// the process killed was not the worker. The rest of this file is the
// fallback where the host offers no memory cgroup.
//
// Without a memory cgroup nothing in the kernel adds up what a sandbox's
// processes hold: RLIMIT_AS bounds each process, and a sandbox may run
// WithMaxProcesses of them. The provider's memory watch does the sum: it
// walks each sandbox's process tree from its init and adds up the
// anonymous resident memory of every process (what its code allocated;
// file-backed pages can be dropped by the kernel, and the tmpfs mounts
// have their own sizes). A sandbox over its budget is killed and its run
// fails with a *sandbox.LimitError.
//
// The sum counts a page shared copy-on-write after a fork once per
// process that maps it, so it errs on the side of the host: a stateless
// sandbox's zygote and the child forked from it are counted in full.

const (
	// memWatchBusy is how often the sandboxes running code are measured,
	// memWatchIdle how often every sandbox is (background processes and
	// threads of a session run between its cells).
	memWatchBusy = 100 * time.Millisecond
	memWatchIdle = time.Second
	// maxWalk bounds a walk: a sandbox holds at most WithMaxProcesses
	// processes of its own uid, but the children files are read while the
	// tree changes.
	maxWalk = 4096
)

// treeWalker measures process trees through /proc. Its buffers are reused
// from walk to walk; it is not safe for concurrent use.
type treeWalker struct {
	buf   []byte
	dents []byte
	stack []int
	page  int64
}

func newTreeWalker() *treeWalker {
	return &treeWalker{buf: make([]byte, 4096), dents: make([]byte, 4096), page: int64(os.Getpagesize())}
}

// anonResident returns the anonymous resident memory of root and every
// process descended from it, in bytes, and how many processes it
// measured. A process that exits during the walk counts for nothing; a
// root that no longer exists gives 0, 0.
func (w *treeWalker) anonResident(root int) (bytes int64, procs int) {
	w.stack = append(w.stack[:0], root)
	for len(w.stack) > 0 && procs < maxWalk {
		pid := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		pages, ok := w.statmAnon(pid)
		if !ok {
			continue
		}
		bytes += pages * w.page
		procs++
		w.pushChildren(pid)
	}
	return bytes, procs
}

// statmAnon reads a process's resident pages minus its file-backed and
// shared ones (RssAnon, as /proc/<pid>/status names it).
func (w *treeWalker) statmAnon(pid int) (int64, bool) {
	n, ok := w.read("/proc/" + strconv.Itoa(pid) + "/statm")
	if !ok {
		return 0, false
	}
	// size resident shared text lib data dt
	var f [3]int64
	i := 0
	for _, c := range w.buf[:n] {
		switch {
		case c >= '0' && c <= '9':
			f[i] = f[i]*10 + int64(c-'0')
		case c == ' ':
			if i++; i == len(f) {
				return max(f[1]-f[2], 0), true
			}
		default:
			return 0, false
		}
	}
	return 0, false
}

// pushChildren pushes the children of every thread of pid (a process
// forked from a thread other than the main one is that thread's child).
func (w *treeWalker) pushChildren(pid int) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Getdents(fd, w.dents)
		if err != nil || n <= 0 {
			return
		}
		for off := 0; off < n; {
			// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name
			reclen := int(binary.NativeEndian.Uint16(w.dents[off+16:]))
			if reclen < 20 || off+reclen > n {
				return
			}
			name := w.dents[off+19 : off+reclen]
			off += reclen
			tid := 0
			for _, c := range name {
				if c < '0' || c > '9' {
					break
				}
				tid = tid*10 + int(c-'0')
			}
			if tid > 0 {
				w.pushChildrenOf(dir + strconv.Itoa(tid) + "/children")
			}
		}
	}
}

func (w *treeWalker) pushChildrenOf(path string) {
	n, ok := w.read(path)
	if !ok {
		return
	}
	child := 0
	for _, c := range w.buf[:n] {
		if c >= '0' && c <= '9' {
			child = child*10 + int(c-'0')
			continue
		}
		if child > 0 {
			w.stack = append(w.stack, child)
		}
		child = 0
	}
	if child > 0 {
		w.stack = append(w.stack, child)
	}
}

// read reads a small /proc file into w.buf (growing it for a long
// children list).
func (w *treeWalker) read(path string) (int, bool) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	defer unix.Close(fd)
	total := 0
	for {
		if total == len(w.buf) {
			w.buf = append(w.buf, make([]byte, len(w.buf))...)
		}
		n, err := unix.Read(fd, w.buf[total:])
		if err != nil {
			return 0, false
		}
		if n == 0 {
			return total, true
		}
		total += n
	}
}

// watchMemory runs while the provider has open sandboxes: every
// memWatchBusy it measures those running code, every memWatchIdle all of
// them, and stops any over the budget. It ends when the last sandbox is
// gone (the next Create starts it again) or when the provider closes.
func (p *Provider) watchMemory(stop <-chan struct{}) {
	w := newTreeWalker()
	tick := time.NewTicker(memWatchBusy)
	defer tick.Stop()
	lastAll := time.Now()
	var live []*Sandbox
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			all := now.Sub(lastAll) >= memWatchIdle
			if all {
				lastAll = now
			}
			if live = p.live(live[:0]); live == nil {
				return
			}
			for _, s := range live {
				if all || s.running.Load() {
					s.checkMemory(w, p.cfg.memoryBudget)
				}
			}
			clear(live)
		}
	}
}

// live appends the provider's open sandboxes to dst. With none open it
// returns nil and marks the memory watch stopped, under the lock that
// create takes to start it.
func (p *Provider) live(dst []*Sandbox) []*Sandbox {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.sandboxes) == 0 {
		p.watching = false
		return nil
	}
	for s := range p.sandboxes {
		dst = append(dst, s)
	}
	return dst
}

// checkMemory measures the sandbox and stops it when it is over budget:
// a run in progress ends with the *sandbox.LimitError (and the output
// printed so far); an idle sandbox is torn down at once.
func (s *Sandbox) checkMemory(w *treeWalker, budget int64) {
	select {
	case <-s.exited:
		return // its pid may already name another process
	default:
	}
	if s.p.cgroupMemory() {
		// The kernel holds the sandbox to its budget; a process it killed
		// for it ends the sandbox (the worker may be waiting for that
		// process forever).
		s.stateMu.Lock()
		stopped := s.limitErr != nil || s.closed
		s.stateMu.Unlock()
		if stopped || s.memoryLimitError() == nil {
			return
		}
	} else {
		used, _ := w.anonResident(s.child.cmd.Process.Pid)
		if used <= budget {
			return
		}
		s.stateMu.Lock()
		if s.dead != "" || s.closed {
			s.stateMu.Unlock()
			return
		}
		s.limitErr = &sandbox.LimitError{SandboxID: s.id, Resource: "memory", Limit: budget, Used: used}
		s.dead = s.limitErr.Error()
		s.stateMu.Unlock()
		s.p.cfg.logger.Warn("local sandbox: memory budget exceeded, sandbox stopped", "sandbox_id", s.id, "used_bytes", used, "budget_bytes", budget)
	}
	s.kill()
	// A run in progress notices the death, collects the output and tears
	// down; otherwise (or if it ended just before the kill) this does.
	go func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.teardown()
	}()
}
