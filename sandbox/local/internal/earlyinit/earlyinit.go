// Package earlyinit builds a sandbox's root file system before any other
// package of the re-executed program is initialised.
//
// The sandbox init is the host program itself, re-executed. Go initialises
// the packages of a program in the order of the language specification:
// repeatedly the first package, sorted by import path, whose imports are
// all initialised. This package imports nothing (unsafe is not a package
// with an initialiser), so it is ready at the first step, and it sorts
// before every package that can make a system call (os, syscall, net and
// their internal dependencies all sort after "github.com/"): its init
// function runs before the init functions of the program's other
// packages. In a sandbox init (argv[0] is [Marker]) it executes the mount
// plan the host sent on [FDPlan] — a new private root on a tmpfs, then
// pivot_root — and closes every descriptor the process inherited beyond
// the sandbox's own. The init functions of the host program's packages
// then run inside the sandbox's root and network namespace, never against
// the host's file system or network.
//
// System calls are made through syscall.RawSyscall6, which keeps no
// package state and so may be called before package syscall is
// initialised. On architectures other than amd64 and arm64 this package
// does nothing and the init builds the root later, as before.
package earlyinit

import "unsafe"

// Marker is argv[0] of a re-executed binary that must act as a sandbox init.
const Marker = "ttadev-sandbox-init"

// FDPlan is the descriptor on which the host sends the mount plan, and
// FDWorker the one on which it sends the Python worker (left open for
// the sandbox init).
const (
	FDPlan   = 8
	FDWorker = 9
)

// Op codes of the plan. A plan is a sequence of operations, each a code
// byte followed by its arguments, each argument ending in a NUL byte.
// Numbers are decimal.
const (
	OpMount     = 'M' // source, target, fstype, flags, data
	OpMkdir     = 'D' // path, mode (an existing directory is not an error)
	OpSymlink   = 'L' // target, path
	OpCreate    = 'F' // path: an empty file (a bind-mount target)
	OpWrite     = 'W' // path, content
	OpWriteMode = 'X' // path, content, mode: a file of that mode, whatever the umask
	OpRestrict  = 'R' // path, attributes to set, recursive (0/1), remount flags if mount_setattr is missing
	OpChdir     = 'C' // path
	OpPivot     = 'P' // pivot_root(".", ".")
	OpDetach    = 'U' // umount2(".", MNT_DETACH)
)

var (
	// Ran reports that a plan was received and executed (successfully
	// when Err is "").
	Ran bool
	// Err describes the operation that failed.
	Err string
	// keep holds the C strings of the system call in progress.
	keep [][]byte
)

//go:linkname rawSyscall6 syscall.RawSyscall6
func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2, errno uintptr)

func init() {
	if !supported || !isSandboxInit() {
		return
	}
	plan := readAll(FDPlan)
	sys(sysClose, FDPlan)
	// Descriptors the host process inherited without close-on-exec (a
	// supervisor's socket, a log file) must not reach the program's other
	// init functions.
	sys(sysCloseRange, FDWorker+1, ^uintptr(0)>>1, 0)
	if len(plan) == 0 {
		return
	}
	Ran = true
	Err = execute(plan)
	keep = nil
}

func isSandboxInit() bool {
	fd, _, e := sys(sysOpenat, atFDCWD, cstr("/proc/self/cmdline"), 0, 0)
	if e != 0 {
		return false
	}
	var buf [len(Marker) + 1]byte
	n, _, e := sys(sysRead, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	sys(sysClose, fd)
	return e == 0 && n == uintptr(len(buf)) && string(buf[:len(Marker)]) == Marker && buf[len(Marker)] == 0
}

func readAll(fd uintptr) []byte {
	var out []byte
	buf := make([]byte, 16<<10)
	for {
		n, _, e := sys(sysRead, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		if e == eINTR {
			continue
		}
		if e != 0 || n == 0 {
			return out
		}
		out = append(out, buf[:n]...)
	}
}

func sys(trap uintptr, args ...uintptr) (uintptr, uintptr, uintptr) {
	var a [6]uintptr
	copy(a[:], args)
	return rawSyscall6(trap, a[0], a[1], a[2], a[3], a[4], a[5])
}

// cstr returns a NUL-terminated copy of s, kept alive until the plan ends.
func cstr(s string) uintptr {
	b := make([]byte, len(s)+1)
	copy(b, s)
	keep = append(keep, b)
	return uintptr(unsafe.Pointer(&b[0]))
}

func atoi(s string) (uintptr, bool) {
	if s == "" {
		return 0, false
	}
	var n uintptr
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uintptr(c-'0')
	}
	return n, true
}

func itoa(n uintptr) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// Nargs is the number of arguments of each operation (-1 for an unknown
// one); package initproc decodes plans with it too.
func Nargs(op byte) int {
	switch op {
	case OpMount:
		return 5
	case OpRestrict:
		return 4
	case OpWriteMode:
		return 3
	case OpMkdir, OpSymlink, OpWrite:
		return 2
	case OpCreate, OpChdir:
		return 1
	case OpPivot, OpDetach:
		return 0
	}
	return -1
}

// execute runs the plan and returns "" or what failed.
func execute(plan []byte) string {
	for len(plan) > 0 {
		op := plan[0]
		plan = plan[1:]
		n := Nargs(op)
		if n < 0 {
			return "bad plan: unknown operation " + itoa(uintptr(op))
		}
		var args [5]string
		for i := 0; i < n; i++ {
			j := 0
			for j < len(plan) && plan[j] != 0 {
				j++
			}
			if j == len(plan) {
				return "bad plan: truncated operation " + string(rune(op))
			}
			args[i] = string(plan[:j])
			plan = plan[j+1:]
		}
		if e := do(op, args); e != "" {
			return e
		}
		keep = keep[:0]
	}
	return ""
}

func do(op byte, a [5]string) string {
	fail := func(what string, errno uintptr) string {
		return what + ": errno " + itoa(errno)
	}
	num := func(s string) uintptr {
		n, _ := atoi(s)
		return n
	}
	switch op {
	case OpMount:
		var data uintptr
		if a[4] != "" {
			data = cstr(a[4])
		}
		if _, _, e := sys(sysMount, cstr(a[0]), cstr(a[1]), cstr(a[2]), num(a[3]), data); e != 0 {
			return fail("mount "+a[2]+" "+a[0]+" on "+a[1], e)
		}
	case OpMkdir:
		if _, _, e := sys(sysMkdirat, atFDCWD, cstr(a[0]), num(a[1])); e != 0 && e != eEXIST {
			return fail("mkdir "+a[0], e)
		}
	case OpSymlink:
		if _, _, e := sys(sysSymlinkat, cstr(a[0]), atFDCWD, cstr(a[1])); e != 0 {
			return fail("symlink "+a[1], e)
		}
	case OpCreate, OpWrite, OpWriteMode:
		fd, _, e := sys(sysOpenat, atFDCWD, cstr(a[0]), oWRONLY|oCREAT|oTRUNC|oCLOEXEC, 0o644)
		if e != 0 {
			return fail("create "+a[0], e)
		}
		content := a[1]
		for len(content) > 0 {
			b := []byte(content)
			n, _, e := sys(sysWrite, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			if e == eINTR {
				continue
			}
			if e != 0 {
				sys(sysClose, fd)
				return fail("write "+a[0], e)
			}
			content = content[n:]
		}
		if op == OpWriteMode {
			if _, _, e := sys(sysFchmod, fd, num(a[2])); e != 0 {
				sys(sysClose, fd)
				return fail("chmod "+a[0], e)
			}
		}
		sys(sysClose, fd)
	case OpRestrict:
		// struct mount_attr: attr_set, attr_clr, propagation, userns_fd.
		attr := [4]uint64{uint64(num(a[1]))}
		flags := uintptr(0)
		if a[2] == "1" {
			flags = atRecursive
		}
		_, _, e := sys(sysMountSetattr, ^uintptr(0) /* AT_FDCWD is ignored for an absolute path */, cstr(a[0]), flags,
			uintptr(unsafe.Pointer(&attr[0])), unsafe.Sizeof(attr))
		if e == eNOSYS {
			_, _, e = sys(sysMount, cstr(""), cstr(a[0]), cstr(""), num(a[3]), 0)
		}
		if e != 0 {
			return fail("restrict "+a[0], e)
		}
	case OpChdir:
		if _, _, e := sys(sysChdir, cstr(a[0])); e != 0 {
			return fail("chdir "+a[0], e)
		}
	case OpPivot:
		if _, _, e := sys(sysPivotRoot, cstr("."), cstr(".")); e != 0 {
			return fail("pivot_root", e)
		}
	case OpDetach:
		if _, _, e := sys(sysUmount2, cstr("."), mntDETACH); e != 0 {
			return fail("detach old root", e)
		}
	}
	return ""
}
