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
// process created them. The kernel arbitrates between processes: each
// allocator holds one open file description of the lock file in a
// root-owned directory, and a reservation is an exclusive OFD lock
// (F_OFD_SETLK) on the one byte at the uid's offset. Two descriptions never
// hold the same byte, and a process that dies, however it dies, drops its
// locks with its descriptors, so no reservation outlives its holder.
// Within a process, one allocator (sharedUIDAllocator) serves every
// provider and held, under mu, says which uids it holds: a description
// does not conflict with itself.
//
// One description per process rather than one per reservation: every
// close of a descriptor of a locked file makes the kernel scan the file's
// lock list for the closing process's POSIX locks, and a fork+exec closes
// every close-on-exec descriptor the host holds, so a description per
// sandbox made each new sandbox cost time in proportion to the live ones
// (1,000 sessions took twice as long to create).
//
// The description is close-on-exec, and the sandbox init closes every
// descriptor it inherits beyond its own, so no sandboxed process can reach
// the locks.
type uidAllocator struct {
	dir  int // the lock directory, opened and checked once
	fd   int // the lock file: this allocator's description
	mu   sync.Mutex
	held map[int]bool // uids this allocator holds
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
	fd, err := openLockFile(dfd)
	if err != nil {
		unix.Close(dfd)
		return nil, err
	}
	return &uidAllocator{dir: dfd, fd: fd, held: map[int]bool{}}, nil
}

// close drops every reservation of a (tests only: the process's shared
// allocator lives as long as the process).
func (a *uidAllocator) close() {
	unix.Close(a.fd)
	unix.Close(a.dir)
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

// openLockFile opens (creating it, mode 0600) the lock file in the lock
// directory dir as a close-on-exec description and checks it is a
// root-owned, private regular file with one name.
func openLockFile(dir int) (int, error) {
	fd, err := unix.Openat(dir, hostUIDLockFile, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NOCTTY, 0o600)
	if err != nil {
		return -1, fmt.Errorf("local: uid lock file: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("local: uid lock file: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != 0 || st.Mode&0o077 != 0 || st.Nlink != 1 {
		unix.Close(fd)
		return -1, fmt.Errorf("local: uid lock file: not the root-owned private file expected (uid %d, mode %#o, links %d)", st.Uid, st.Mode&0o7777, st.Nlink)
	}
	return fd, nil
}

// acquire reserves a uid of [first, first+count), trying them from
// first+start on, and returns it with the offset to start from next time.
// The cost is one fcntl per uid tried (about a microsecond each, more the
// more locks the file holds; uids this process holds are skipped without
// a system call). It fails with *HostUIDsExhaustedError when every uid of
// the range is held. Safe for concurrent use.
func (a *uidAllocator) acquire(first, count, start int) (uid, next int, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range count {
		off := (start + i) % count
		uid := first + off
		if a.held[uid] {
			continue
		}
		lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: int64(uid), Len: 1}
		err := unix.FcntlFlock(uintptr(a.fd), unix.F_OFD_SETLK, &lk)
		if err == nil {
			a.held[uid] = true
			return uid, (off + 1) % count, nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
			return 0, start, fmt.Errorf("local: uid lock: %w", err)
		}
	}
	return 0, start, &HostUIDsExhaustedError{First: first, Count: count}
}

// release gives back uid (unlocks its byte). Call it only once nothing of
// the uid's sandbox runs any more. Safe for concurrent use; a uid not
// held is ignored.
func (a *uidAllocator) release(uid int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.held[uid] {
		return
	}
	delete(a.held, uid)
	lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: 0, Start: int64(uid), Len: 1}
	unix.FcntlFlock(uintptr(a.fd), unix.F_OFD_SETLK, &lk) // cannot fail for a held byte
}
