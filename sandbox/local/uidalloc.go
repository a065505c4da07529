//go:build linux

package local

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// hostUIDLockDir is the root-owned directory whose lock file reserves
// host uids for sandboxes across every process on the host.
const hostUIDLockDir = "/run/ttadev-sandbox-uids"

// hostUIDLockFile is the lock file's name in hostUIDLockDir.
const hostUIDLockFile = "uids"

// HostUIDsExhaustedError is the error of Create when every host uid of the
// provider's range (WithHostUIDRange) is held by a live sandbox, of this
// process or of another process on the host: sandboxes never share a uid.
// It is not retryable (Retryable reports false): a uid frees only when a
// sandbox holding one is closed, which a retry loop does not cause; close
// sandboxes (or give a larger range) and create again. Match it with
// errors.As.
type HostUIDsExhaustedError struct {
	First, Count int // the range: host uids First to First+Count-1
}

func (e *HostUIDsExhaustedError) Error() string {
	return fmt.Sprintf("local: all %d host uids of the range from %d are in use by live sandboxes on this host; close one or widen WithHostUIDRange", e.Count, e.First)
}

// Retryable reports false: see HostUIDsExhaustedError.
func (e *HostUIDsExhaustedError) Retryable() bool { return false }

// uidAllocator reserves host uids, one per live sandbox, so that no two
// sandboxes on the host run as the same uid, whichever provider or
// process created them. A reservation is an open file description of the
// lock file in a root-owned directory, holding an exclusive OFD lock
// (F_OFD_SETLK) on the one byte at the uid's offset. The kernel arbitrates:
// two descriptions never hold the same byte, in one process or in two, and
// a process that dies, however it dies, drops its locks with its
// descriptors, so no reservation outlives its holder. Each reservation has
// a description of its own, so the kernel also keeps two providers of one
// process apart; held only skips the uids this process already holds
// without asking the kernel.
//
// The descriptions are close-on-exec, and the sandbox init closes every
// descriptor it inherits beyond its own, so no sandboxed process can
// reach a lock.
type uidAllocator struct {
	dir  int         // the lock directory, opened and checked once
	file unix.Stat_t // the lock file as first checked
	mu   sync.Mutex
	held map[int]int // uid → descriptor holding its lock
}

var (
	uidAllocOnce sync.Once
	uidAlloc     *uidAllocator
	uidAllocErr  error
)

// sharedUIDAllocator returns the process's allocator over hostUIDLockDir,
// opening (and creating, mode 0700) the directory the first time.
func sharedUIDAllocator() (*uidAllocator, error) {
	uidAllocOnce.Do(func() { uidAlloc, uidAllocErr = openUIDAllocator(hostUIDLockDir) })
	return uidAlloc, uidAllocErr
}

// openUIDAllocator opens (creating it if absent) the lock directory dir
// and its lock file, refusing any it cannot trust; see openLockDir.
func openUIDAllocator(dir string) (*uidAllocator, error) {
	dfd, err := openLockDir(dir)
	if err != nil {
		return nil, err
	}
	a := &uidAllocator{dir: dfd, held: map[int]int{}}
	fd, err := a.openLockFile(true)
	if err != nil {
		unix.Close(dfd)
		return nil, err
	}
	err = unix.Fstat(fd, &a.file)
	unix.Close(fd)
	if err != nil {
		unix.Close(dfd)
		return nil, err
	}
	return a, nil
}

// openLockDir opens dir, creating its last component (mode 0700) if
// absent, and returns its descriptor. Every component is opened from / with
// O_NOFOLLOW, so no symbolic link is followed, and checked through the
// opened descriptor, so what is checked is what is used: each must be a
// directory owned by root, and each but the last writable by no one else
// unless sticky (like /tmp: others then cannot rename or remove root's
// entries); the last must be owned by root with no permission for group
// or others. A directory another user made, or could have replaced, is
// refused with an error saying why: whoever controls it could take or
// free every reservation.
func openLockDir(dir string) (int, error) {
	if !strings.HasPrefix(dir, "/") {
		return -1, fmt.Errorf("local: uid lock directory %q: not an absolute path", dir)
	}
	var parts []string
	for _, p := range strings.Split(dir, "/") {
		if p != "" && p != "." {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 || slices.Contains(parts, "..") {
		return -1, fmt.Errorf("local: uid lock directory %q: want a clean absolute path below /", dir)
	}
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("local: uid lock directory: open /: %w", err)
	}
	at := "/"
	if err := checkLockDirAncestor(fd, at); err != nil {
		unix.Close(fd)
		return -1, err
	}
	for i, name := range parts {
		last := i == len(parts)-1
		if last {
			if err := unix.Mkdirat(fd, name, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(fd)
				return -1, fmt.Errorf("local: uid lock directory %s: %w", dir, err)
			}
		}
		flags := unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if last {
			flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		}
		next, err := unix.Openat(fd, name, flags, 0)
		unix.Close(fd)
		at = strings.TrimSuffix(at, "/") + "/" + name
		if err != nil {
			return -1, fmt.Errorf("local: uid lock directory: %s: %w (it must be a real directory, not a symbolic link)", at, err)
		}
		fd = next
		if last {
			err = checkLockDir(fd, at)
		} else {
			err = checkLockDirAncestor(fd, at)
		}
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

func checkLockDirAncestor(fd int, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("local: uid lock directory: %s: %w", path, err)
	}
	if st.Uid != 0 || (st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0) {
		return fmt.Errorf("local: uid lock directory: %s is owned by uid %d with mode %#o; want root's, writable by no one else unless sticky", path, st.Uid, st.Mode&0o7777)
	}
	return nil
}

func checkLockDir(fd int, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("local: uid lock directory: %s: %w", path, err)
	}
	if st.Uid != 0 || st.Mode&0o077 != 0 {
		return fmt.Errorf("local: uid lock directory %s is owned by uid %d with mode %#o; refusing it (want root's, mode 0700: another user could have made it or could reach its lock file)", path, st.Uid, st.Mode&0o7777)
	}
	return nil
}

// openLockFile opens the lock file (creating it, mode 0600, when create)
// as a new close-on-exec description and checks it is the root-owned,
// private regular file first checked.
func (a *uidAllocator) openLockFile(create bool) (int, error) {
	flags := unix.O_RDWR | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NOCTTY
	if create {
		flags |= unix.O_CREAT
	}
	fd, err := unix.Openat(a.dir, hostUIDLockFile, flags, 0o600)
	if err != nil {
		return -1, fmt.Errorf("local: uid lock file: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("local: uid lock file: %w", err)
	}
	bad := st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != 0 || st.Mode&0o077 != 0 || st.Nlink != 1
	if !create && (st.Dev != a.file.Dev || st.Ino != a.file.Ino) {
		bad = true
	}
	if bad {
		unix.Close(fd)
		return -1, fmt.Errorf("local: uid lock file: not the root-owned private file expected (uid %d, mode %#o, links %d)", st.Uid, st.Mode&0o7777, st.Nlink)
	}
	return fd, nil
}

// acquire reserves a uid of [first, first+count), trying them from
// first+start on, and returns it with the offset to start from next time.
// The cost is one open of the lock file and one fcntl per uid tried (a
// few microseconds each; uids this process holds are skipped without a
// system call). It fails with *HostUIDsExhaustedError when every uid of
// the range is held. Safe for concurrent use.
func (a *uidAllocator) acquire(first, count, start int) (uid, next int, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fd := -1
	for i := range count {
		off := (start + i) % count
		uid := first + off
		if _, ok := a.held[uid]; ok {
			continue
		}
		if fd < 0 {
			if fd, err = a.openLockFile(false); err != nil {
				return 0, start, err
			}
		}
		lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: int64(uid), Len: 1}
		err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk)
		if err == nil {
			a.held[uid] = fd
			return uid, (off + 1) % count, nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
			unix.Close(fd)
			return 0, start, fmt.Errorf("local: uid lock: %w", err)
		}
	}
	if fd >= 0 {
		unix.Close(fd)
	}
	return 0, start, &HostUIDsExhaustedError{First: first, Count: count}
}

// release gives back uid (closing its description drops the lock). Call
// it only once nothing of the uid's sandbox runs any more. Safe for
// concurrent use; a uid not held is ignored.
func (a *uidAllocator) release(uid int) {
	a.mu.Lock()
	fd, ok := a.held[uid]
	delete(a.held, uid)
	a.mu.Unlock()
	if ok {
		unix.Close(fd)
	}
}
