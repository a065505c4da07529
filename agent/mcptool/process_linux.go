package mcptool

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// ownGroup makes the command lead a process group of its own, so that
// its children can be found and killed with it.
func ownGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// beforeReap waits for the process to exit without reaping it (while it
// is a zombie its pid, and so its group's id, cannot be reused), kills
// what is left of its group, and marks it gone.
func beforeReap(p *process) {
	var info unix.Siginfo
	for {
		if err := unix.Waitid(unix.P_PID, p.pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != unix.EINTR {
			break
		}
	}
	p.sigMu.Lock()
	_ = unix.Kill(-p.pid, unix.SIGKILL)
	p.gone = true
	p.sigMu.Unlock()
}

// sendSignal signals the whole group; the caller holds p.sigMu and has
// checked that the leader is not reaped.
func sendSignal(p *process, sig syscall.Signal) { _ = unix.Kill(-p.pid, sig) }
