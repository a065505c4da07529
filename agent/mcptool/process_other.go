//go:build !linux

package mcptool

import (
	"os/exec"
	"syscall"
)

// Off Linux the server is one process: its own children are its business.

func ownGroup(*exec.Cmd) {}

func beforeReap(*process) {}

// sendSignal signals the process; os.Process never signals a reaped one.
// Where SIGTERM cannot be sent (Windows), the process is killed at once.
func sendSignal(p *process, sig syscall.Signal) {
	if sig == syscall.SIGKILL || p.cmd.Process.Signal(sig) != nil {
		_ = p.cmd.Process.Kill()
	}
}
