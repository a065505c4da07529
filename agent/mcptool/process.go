package mcptool

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// DefaultStopTimeout is how long Close waits, at each step, for a stdio
// server to exit: after closing its stdin, then after SIGTERM, before
// SIGKILL.
const DefaultStopTimeout = 2 * time.Second

// process is a stdio MCP server: a child process speaking MCP on its
// stdin and stdout. On Linux it leads a process group of its own, and the
// whole group is killed once it exits, so nothing it started outlives it.
type process struct {
	cmd    *exec.Cmd
	pid    int
	stdin  *os.File // the write end of the child's stdin
	stdout *os.File // the read end of the child's stdout
	grace  time.Duration

	exited  chan struct{} // closed once the process was reaped
	waitErr error         // its exit status, set before exited is closed

	// sigMu orders signals before the reaping: once gone is set, the pid
	// may name another process and is never signalled again.
	sigMu sync.Mutex
	gone  bool

	stopOnce sync.Once
	stopErr  error
}

// startProcess starts the command of s.
func startProcess(s Stdio) (*process, error) {
	if s.Command == "" {
		return nil, errors.New("no command")
	}
	cmd := exec.Command(s.Command, s.Args...)
	cmd.Env = s.Env
	cmd.Dir = s.Dir
	cmd.Stderr = s.Stderr // nil: the null device
	// A server's own children may hold its stderr open after it exits:
	// do not let them hold Wait.
	cmd.WaitDelay = time.Second
	ownGroup(cmd)

	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	if err := cmd.Start(); err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	// The child has its ends; holding them here would keep its stdin open
	// and hide the end of its stdout.
	inR.Close()
	outW.Close()
	grace := s.StopTimeout
	if grace <= 0 {
		grace = DefaultStopTimeout
	}
	p := &process{cmd: cmd, pid: cmd.Process.Pid, stdin: inW, stdout: outR, grace: grace, exited: make(chan struct{})}
	go p.reap()
	return p, nil
}

// reap waits for the process to exit, kills what is left of its group,
// and collects its status.
func (p *process) reap() {
	beforeReap(p)
	p.waitErr = p.cmd.Wait()
	p.markGone()
	close(p.exited)
}

// markGone records that the pid must not be signalled any more.
func (p *process) markGone() {
	p.sigMu.Lock()
	p.gone = true
	p.sigMu.Unlock()
}

// signal sends sig to the process (its group on Linux) unless it is gone.
func (p *process) signal(sig syscall.Signal) {
	p.sigMu.Lock()
	defer p.sigMu.Unlock()
	if !p.gone {
		sendSignal(p, sig)
	}
}

// stop ends the process the way the MCP specification asks (close its
// stdin, then SIGTERM, then SIGKILL, each after the grace period) and
// returns once it is reaped. It is idempotent and safe for concurrent
// use.
func (p *process) stop() error {
	p.stopOnce.Do(func() {
		p.stdin.Close()
		if !p.await(p.grace) {
			p.signal(syscall.SIGTERM)
			if !p.await(p.grace) {
				p.signal(syscall.SIGKILL)
				if !p.await(p.grace) {
					p.stopErr = fmt.Errorf("process %d did not exit after SIGKILL", p.pid)
				}
			}
		}
		p.stdout.Close()
	})
	return p.stopErr
}

// await reports whether the process is reaped within d.
func (p *process) await(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.exited:
		return true
	case <-t.C:
		return false
	}
}

// pipes is the MCP stream over the process's stdin and stdout. Closing it
// stops the process.
type pipes struct{ p *process }

func (c pipes) Read(b []byte) (int, error)  { return c.p.stdout.Read(b) }
func (c pipes) Write(b []byte) (int, error) { return c.p.stdin.Write(b) }

// readEnd is the stdout side of pipes; closing it does nothing, since the
// stream is closed through its write end.
type readEnd struct{ pipes }

func (readEnd) Close() error { return nil }

// writeEnd is the stdin side of pipes; closing it stops the process.
type writeEnd struct{ pipes }

func (w writeEnd) Close() error { return w.p.stop() }
