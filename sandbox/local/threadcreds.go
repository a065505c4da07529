//go:build linux

package local

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// startAs runs start on an OS thread of its own whose effective uid and
// gid are uid and gid and which has no supplementary groups, then gives
// the thread back with its credentials restored. A process start clones
// inherits those credentials, so a user namespace it creates is owned by
// uid: the kernel charges the namespace's counts (inotify instances and
// watches, fanotify groups, namespaces) to uid up the chain, not to the
// host process's root, and the sandbox gets no supplementary group of
// root's.
//
// Only a process whose real and saved uid are 0 calls it: the thread's
// effective ids are switched with the per-thread system calls (the
// syscall package's Setresuid changes every thread) and switched back
// through the saved uid. The thread must stay alive while the child runs,
// since a child's parent-death signal follows the thread that cloned it,
// so it goes back to the runtime's pool and is never left to exit.
func startAs(uid, gid int, start func() error) error {
	done := make(chan error, 1)
	go func() {
		// The dumpable flag is the process's, and a change of effective
		// uid on any thread resets it: one start at a time, so each
		// restores the value from before any of them.
		credMu.Lock()
		runtime.LockOSThread()
		restored, err := startOnThisThread(uid, gid, start)
		credMu.Unlock()
		if !restored {
			// Unreachable for a root process (its real and saved uids
			// stay 0). The thread can neither serve other goroutines with
			// these credentials nor exit (that would kill the child): it
			// stays parked with this goroutine.
			done <- err
			select {}
		}
		runtime.UnlockOSThread()
		done <- err
	}()
	return <-done
}

// startOnThisThread runs start with the calling (locked) thread's
// credentials switched to uid and gid, and reports whether they were
// switched back.
func startOnThisThread(uid, gid int, start func() error) (restored bool, err error) {
	egid := unix.Getegid()
	groups, err := unix.Getgroups()
	if err != nil {
		return true, fmt.Errorf("local: read groups: %w", err)
	}
	// A change of effective uid makes the process not dumpable: the flag
	// is restored afterwards.
	dumpable, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		return true, fmt.Errorf("local: read dumpable flag: %w", err)
	}
	err = setThreadCreds(uid, gid, nil)
	if err == nil {
		err = start()
	}
	rerr := setThreadCreds(0, egid, groups)
	if rerr == nil {
		rerr = unix.Prctl(unix.PR_SET_DUMPABLE, uintptr(dumpable), 0, 0, 0)
	}
	if rerr != nil {
		return false, fmt.Errorf("local: restore thread credentials: %w", rerr)
	}
	return true, err
}

var credMu sync.Mutex

// setThreadCreds sets the calling thread's supplementary groups, effective
// gid and effective uid (real and saved ids unchanged; the file-system
// uid stays 0). Going to a non-root uid, groups and gid change first,
// while the thread still has the capabilities; coming back, the uid
// changes first, which restores them.
func setThreadCreds(uid, gid int, groups []int) error {
	setGroups := func() error {
		list := make([]uint32, len(groups))
		for i, g := range groups {
			list[i] = uint32(g)
		}
		var p unsafe.Pointer
		if len(list) > 0 {
			p = unsafe.Pointer(&list[0])
		}
		if _, _, e := unix.RawSyscall(sysSetgroups, uintptr(len(list)), uintptr(p), 0); e != 0 {
			return fmt.Errorf("setgroups: %w", e)
		}
		return nil
	}
	setEGID := func() error {
		if _, _, e := unix.RawSyscall(sysSetresgid, ^uintptr(0), uintptr(gid), ^uintptr(0)); e != 0 {
			return fmt.Errorf("setresgid: %w", e)
		}
		return nil
	}
	setEUID := func() error {
		if _, _, e := unix.RawSyscall(sysSetresuid, ^uintptr(0), uintptr(uid), ^uintptr(0)); e != 0 {
			return fmt.Errorf("setresuid: %w", e)
		}
		return nil
	}
	// The file-system uid goes back to 0 (setfsuid reports no error:
	// the previous value, checked below): Go writes the child's uid and
	// gid maps from this thread, and the child's /proc files belong to
	// root while the process is not dumpable, which any change of
	// effective uid, on any thread or in a child sharing the memory
	// before its exec, makes it. The maps themselves are allowed by the
	// opener's effective ids: the namespace's owner mapping only itself.
	rootFS := func() error {
		unix.RawSyscall(sysSetfsuid, 0, 0, 0)
		if prev, _, _ := unix.RawSyscall(sysSetfsuid, ^uintptr(0), 0, 0); prev != 0 {
			return fmt.Errorf("setfsuid: still %d", prev)
		}
		return nil
	}
	steps := []func() error{setGroups, setEGID, setEUID, rootFS}
	if uid == 0 {
		steps = []func() error{setEUID, setEGID, setGroups}
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}
