//go:build linux

package initproc

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// closeInheritedOnExec marks every descriptor above FDEvents close-on-exec,
// so none reaches the worker. The host process may hold descriptors
// without close-on-exec (inherited from a shell or a supervisor: sockets,
// log files, pipes) and fork/exec passes those on. They are marked rather
// than closed because the Go runtime of this process may own some of them.
func closeInheritedOnExec() {
	if unix.CloseRange(FDEvents+1, ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	// Kernels before 5.11: walk the descriptor table.
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > FDEvents {
			unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
		}
	}
}
