//go:build linux

package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/ttadev/primitives/sandbox/local/internal/initproc"
	"golang.org/x/sys/unix"
)

// child is a started sandbox init and the host ends of its pipes.
type child struct {
	cmd    *exec.Cmd
	stdout *os.File // worker's stdout (read)
	stderr *os.File // worker's stderr (read)
	events *os.File // events from init and worker (read)
	cmdW   *os.File // commands to the worker (write); a stateless sandbox's is a unix socket (see slot.go)
	diag   *cappedBuffer
}

// dirs is the host-side directory of one sandbox.
type dirs struct {
	base, root, work, tmp string
}

func makeDirs(parent string, uid, gid int) (dirs, error) {
	base, err := os.MkdirTemp(parent, "ttadev-sandbox-")
	if err != nil {
		return dirs{}, fmt.Errorf("local: make sandbox dir: %w", err)
	}
	d := dirs{base: base, root: filepath.Join(base, "root"), work: filepath.Join(base, "work"), tmp: filepath.Join(base, "tmp")}
	// The sandbox's unprivileged uid must be able to traverse base.
	err = errors.Join(os.Chmod(base, 0o711), os.Mkdir(d.root, 0o755), os.Mkdir(d.work, 0o700), os.Mkdir(d.tmp, 0o700))
	if err == nil && uid != os.Geteuid() {
		err = errors.Join(os.Chown(d.work, uid, gid), os.Chown(d.tmp, uid, gid))
	}
	if err != nil {
		os.RemoveAll(base)
		return dirs{}, fmt.Errorf("local: prepare sandbox dir: %w", err)
	}
	return d, nil
}

// remove deletes the directory, making read-only subdirectories the code
// created writable first if a plain removal fails.
func (d dirs) remove() error {
	if d.base == "" {
		return nil
	}
	if err := os.RemoveAll(d.base); err == nil {
		return nil
	}
	filepath.WalkDir(d.base, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(d.base)
}

// startChild re-executes this binary as a sandbox init with the
// namespaces of plan p (plus a network namespace when netns) and sends it
// cfg, and worker, when not nil, on initproc.FDWorker. With sock the
// worker's command channel is a unix stream socket, over which a
// stateless sandbox's zygote receives call slots; else a pipe. With a
// cgroup cg the init starts in it (CLONE_INTO_CGROUP) or is moved into it
// right after it starts; either way before it has read its configuration
// to the end, which it waits for before it goes on, so nothing the
// sandbox runs is ever outside the cgroup.
func startChild(p plan, cfg initproc.Config, netns bool, worker []byte, sock bool, cg *sandboxCgroup) (*child, error) {
	cfg.Worker = worker != nil
	var toClose []*os.File
	closeAll := func() {
		for _, f := range toClose {
			f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			toClose = append(toClose, r, w)
		}
		return
	}
	cfgR, cfgW, err1 := pipe()
	outR, outW, err2 := pipe()
	errR, errW, err3 := pipe()
	var cmdR, cmdW *os.File
	var err4 error
	if sock {
		var fds [2]int
		if fds, err4 = unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err4 == nil {
			cmdR, cmdW = os.NewFile(uintptr(fds[0]), "command"), os.NewFile(uintptr(fds[1]), "command")
			toClose = append(toClose, cmdR, cmdW)
		}
	} else {
		cmdR, cmdW, err4 = pipe()
	}
	evR, evW, err5 := pipe()
	planR, planW, err6 := pipe()
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		closeAll()
		return nil, fmt.Errorf("local: pipes: %w", err)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		closeAll()
		return nil, err
	}
	// The configuration is small enough for the pipe buffer.
	if _, err := cfgW.Write(raw); err != nil {
		closeAll()
		return nil, err
	}
	if cg == nil {
		cfgW.Close()
	}
	// The mount plan, executed before any other package of the program is
	// initialised in the child (see package earlyinit).
	plan, err := initproc.MountPlan(&cfg)
	if err == nil && len(plan) > 0 {
		_, err = planW.Write(plan) // a few KiB: within the pipe buffer
	}
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("local: mount plan: %w", err)
	}
	planW.Close()
	extra := []*os.File{cfgR, outW, errW, cmdR, evW, planR}
	if cfg.Worker {
		workR, workW, err := pipe()
		if err == nil {
			err = writeWhole(workW, worker)
		}
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("local: worker code: %w", err)
		}
		workW.Close()
		extra = append(extra, workR)
	}

	flags := p.cloneflags
	if netns {
		flags |= syscall.CLONE_NEWNET
	}
	attr := &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if p.level == levelUserNS {
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: p.hostUID, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: p.hostGID, Size: 1}}
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
	}
	diag := &cappedBuffer{max: 8 << 10}
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{initproc.Marker},
		Env:         []string{}, // nothing from the host environment
		ExtraFiles:  extra,
		SysProcAttr: attr,
		Stderr:      diag,
	}
	if cg != nil && cg.fd >= 0 {
		attr.UseCgroupFD, attr.CgroupFD = true, cg.fd
	}
	start := cmd.Start
	if p.nsByUID {
		start = func() error { return startAs(p.hostUID, p.hostGID, cmd.Start) }
	}
	err = start()
	if err != nil && attr.UseCgroupFD {
		// A kernel without CLONE_INTO_CGROUP (before 5.7): move it instead.
		attr.UseCgroupFD, attr.CgroupFD = false, 0
		cg.closeFD()
		err = start()
	}
	if err != nil {
		closeAll()
		return nil, err
	}
	if cg != nil {
		cg.closeFD()
		cg.cloned = attr.UseCgroupFD
		if !cg.cloned {
			err = cg.m.fs.enter(cg.leaf, cmd.Process.Pid)
		}
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			closeAll()
			return nil, fmt.Errorf("cgroup: %w", err)
		}
		cfgW.Close() // the init goes on
	}
	for _, f := range extra {
		f.Close()
	}
	return &child{cmd: cmd, stdout: outR, stderr: errR, events: evR, cmdW: cmdW, diag: diag}, nil
}

// writeWhole writes b into the pipe w before anyone reads it, growing the
// pipe's buffer to hold it first.
func writeWhole(w *os.File, b []byte) error {
	if len(b) > 64<<10 {
		if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, len(b)); err != nil {
			return fmt.Errorf("pipe size %d: %w", len(b), err)
		}
	}
	_, err := w.Write(b)
	return err
}

// closeHostEnds closes the host's pipe ends.
func (c *child) closeHostEnds() {
	c.stdout.Close()
	c.stderr.Close()
	c.events.Close()
	c.cmdW.Close()
}

// cappedBuffer keeps the first max bytes written to it (the init's own
// diagnostics, e.g. a Go panic).
type cappedBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
