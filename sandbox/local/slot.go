//go:build linux

package local

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// A stateless sandbox's zygote receives, ahead of each call, a slot: four
// descriptors the host makes for that call alone and passes over the
// command socket (worker.py, "stateless mode"). The zygote forks the
// call's child with them and never runs code itself, so every descriptor a
// call's code can reach belongs to that call: nothing it changes on them
// (O_NONBLOCK, the pipe size, an owner for I/O signals) reaches a later
// call, and the end of its output is the end of its pipes, which the
// kernel reports once the call's last process is gone. The zygote's own
// end-of-call event travels on its private event pipe, which no child
// keeps, so a call has nothing to forge its end with.

// slot is the host's side of one call's descriptors: the write end of the
// pipe carrying the call's command and the read ends of its stdout, stderr
// and event pipes. All four are non-blocking (Go's poller), while the
// zygote's ends are blocking: O_NONBLOCK belongs to each end's open file.
type slot struct {
	cmd    *os.File
	stdout *os.File
	stderr *os.File
	events *os.File
}

// close closes the host's ends; the readers of a call's streams then end.
func (sl *slot) close() {
	for _, f := range []*os.File{sl.cmd, sl.stdout, sl.stderr, sl.events} {
		if f != nil {
			f.Close()
		}
	}
}

// sendSlot makes a slot and passes the zygote's ends over sock (the
// command socket, the host's end), returning the host's ends.
func sendSlot(sock *os.File) (*slot, error) {
	host, zygote := [4]int{-1, -1, -1, -1}, [4]int{-1, -1, -1, -1}
	sl := &slot{}
	closeAll := func() {
		for i := range 4 {
			for _, fd := range []int{host[i], zygote[i]} {
				if fd >= 0 {
					unix.Close(fd)
				}
			}
		}
	}
	for i := range 4 {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			closeAll()
			return nil, fmt.Errorf("local: call pipes: %w", err)
		}
		if i == 0 { // the command: the host writes
			host[i], zygote[i] = p[1], p[0]
		} else {
			host[i], zygote[i] = p[0], p[1]
		}
		if err := unix.SetNonblock(host[i], true); err != nil {
			closeAll()
			return nil, err
		}
	}
	rc, err := sock.SyscallConn()
	if err == nil {
		werr := rc.Write(func(fd uintptr) bool {
			err = unix.Sendmsg(int(fd), []byte{'s'}, unix.UnixRights(zygote[:]...), nil, 0)
			return !errors.Is(err, unix.EAGAIN)
		})
		if err == nil {
			err = werr
		}
	}
	for i := range 4 {
		unix.Close(zygote[i])
		zygote[i] = -1
	}
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("local: send call slot: %w", err)
	}
	sl.cmd = os.NewFile(uintptr(host[0]), "call-command")
	sl.stdout = os.NewFile(uintptr(host[1]), "call-stdout")
	sl.stderr = os.NewFile(uintptr(host[2]), "call-stderr")
	sl.events = os.NewFile(uintptr(host[3]), "call-events")
	return sl, nil
}
