//go:build linux

package initproc

import (
	"fmt"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// deniedSyscalls fail with EPERM inside the sandbox: they change mounts or
// namespaces, inspect other processes, load kernel code, or open large
// kernel attack surfaces (bpf, io_uring, perf, keyrings, userfaultfd).
// Every system call in neither this list nor allowedSyscalls fails with
// ENOSYS, so a system call newer than the lists is refused too.
var deniedSyscalls = []string{
	"mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	"move_mount", "open_tree", "open_tree_attr", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	"statmount", "listmount",
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	"bpf", "perf_event_open", "userfaultfd", "uretprobe",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"keyctl", "add_key", "request_key",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"swapon", "swapoff", "reboot", "acct", "quotactl", "quotactl_fd", "syslog", "vhangup",
	"open_by_handle_at", "name_to_handle_at", "lookup_dcookie",
	"clock_settime", "settimeofday", "adjtimex", "clock_adjtime",
	"iopl", "ioperm", "uselib", "personality", "sethostname", "setdomainname",
	// sync and syncfs force writeback of host file systems (/usr is one).
	"sync", "syncfs",
	// Counted in host-wide or per-user pools another sandbox or the host
	// needs: fanotify groups and marks, kernel AIO contexts (aio-max-nr).
	"fanotify_init", "fanotify_mark",
	"io_setup", "io_destroy", "io_getevents", "io_submit", "io_cancel", "io_pgetevents",
	// SysV IPC and POSIX message queues outlive the processes that made
	// them (a stateless sandbox could not give the next run a clean
	// slate), and their memory is outside every bound of the sandbox;
	// memfd memory is outside the tmpfs bounds and RLIMIT_AS too.
	"shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl",
	"semget", "semop", "semtimedop", "semctl",
	"mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
	"memfd_create", "memfd_secret",
	// Page cache residency of shared files: a side channel between tenants.
	"mincore", "cachestat",
	"migrate_pages", "move_pages", "ioprio_set", "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules",
}

// allowedSyscalls is what an interpreter, its subprocesses and common
// native libraries use: files, memory, processes and threads, signals,
// time, sockets, polling; clone, socket and socketpair are allowed with
// conditions in seccompProgram. Names the running
// architecture lacks (open, fork... on arm64) are skipped.
var allowedSyscalls = []string{
	// files and directories
	"read", "write", "open", "openat", "openat2", "close", "close_range", "creat",
	"stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs",
	"lseek", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2",
	"access", "faccessat", "faccessat2", "getdents", "getdents64", "getcwd", "chdir", "fchdir",
	"rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "link", "linkat", "unlink", "unlinkat",
	"symlink", "symlinkat", "readlink", "readlinkat", "mknod", "mknodat",
	"chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat", "umask",
	"truncate", "ftruncate", "fallocate", "fsync", "fdatasync", "sync_file_range", "flock", "fcntl", "ioctl",
	"utime", "utimes", "utimensat", "futimesat", "readahead", "fadvise64",
	"setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr",
	"flistxattr", "removexattr", "lremovexattr", "fremovexattr", "setxattrat", "getxattrat", "listxattrat", "removexattrat",
	"dup", "dup2", "dup3", "pipe", "pipe2", "splice", "tee", "vmsplice", "sendfile", "copy_file_range",
	"inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
	// memory
	"mmap", "munmap", "mprotect", "mremap", "msync", "madvise", "process_madvise", "brk",
	"mlock", "mlock2", "munlock", "mlockall", "munlockall", "mbind", "set_mempolicy", "get_mempolicy",
	"set_mempolicy_home_node", "pkey_mprotect", "pkey_alloc", "pkey_free", "map_shadow_stack", "mseal", "membarrier",
	// processes and threads
	"clone3", "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid",
	"getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid",
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "setfsuid", "setfsgid",
	"capget", "capset", "prctl", "arch_prctl", "set_tid_address", "set_robust_list", "get_robust_list", "rseq",
	"futex", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue",
	"sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_setparam",
	"sched_getscheduler", "sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min",
	"sched_rr_get_interval", "sched_getattr", "sched_setattr", "getpriority", "setpriority", "ioprio_get", "getcpu",
	"getrlimit", "setrlimit", "prlimit64", "getrusage", "times", "sysinfo", "uname", "seccomp",
	"landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
	"pidfd_open", "pidfd_send_signal",
	// signals
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo",
	"rt_tgsigqueueinfo", "rt_sigsuspend", "sigaltstack", "kill", "tkill", "tgkill", "pause",
	"signalfd", "signalfd4", "restart_syscall",
	// time
	"nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
	"alarm", "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
	"timerfd_create", "timerfd_settime", "timerfd_gettime",
	// polling and events
	"poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
	// sockets (families filtered above)
	"connect", "accept", "accept4", "bind", "listen", "shutdown",
	"getsockname", "getpeername", "setsockopt", "getsockopt",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
	"getrandom",
}

// nsCloneFlags are the clone flags that create namespaces.
const nsCloneFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWTIME

// known keeps the names the architecture has.
func known(info *arch.Info, names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if _, ok := info.SyscallNames[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

// seccompProgram builds the filter: an allow list on x86-64 (or the build's
// native architecture) with explicit refusals, preceded by a check that
// kills the process for any other architecture or ABI (int 0x80 and x32
// system calls are numbered differently).
func seccompProgram(blockInet, callNetNS bool) ([]bpf.Instruction, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return nil, err
	}
	groups := []seccomp.SyscallGroup{{Names: known(info, deniedSyscalls), Action: seccomp.ActionErrno}}
	groups = append(groups, seccomp.SyscallGroup{Names: known(info, allowedSyscalls), Action: seccomp.ActionAllow})
	// The library accepts no errno but EPERM for a default action: assemble
	// with ActionTrace (used nowhere else) and turn it into ENOSYS, the
	// answer libc expects for a call the kernel does not have.
	policy := seccomp.Policy{DefaultAction: seccomp.ActionTrace, Syscalls: groups}
	body, err := policy.Assemble()
	if err != nil {
		return nil, err
	}
	for i, in := range body {
		if r, ok := in.(bpf.RetConstant); ok && r.Val == uint32(seccomp.ActionTrace) {
			body[i] = bpf.RetConstant{Val: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)}
		}
	}
	kill := bpf.RetConstant{Val: uint32(seccomp.ActionKillProcess)}
	prefix := []bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 4}, // seccomp_data.arch
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(info.ID), SkipTrue: 1},
		kill,
		bpf.LoadAbsolute{Off: 0, Size: 4}, // seccomp_data.nr
	}
	if info.ID == arch.X86_64.ID {
		prefix = append(prefix,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: uint32(arch.X32.SeccompMask), SkipFalse: 1},
			kill,
		)
	}
	// clone3 carries its flags in memory a filter cannot read: answer
	// ENOSYS so libc falls back to clone, whose flags are checked.
	prefix = append(prefix,
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_CLONE3, SkipFalse: 1},
		bpf.RetConstant{Val: uint32(seccomp.ActionErrno) | uint32(unix.ENOSYS)},
	)
	// clone, socket and socketpair depend on their first argument, whose
	// low 32 bits are all the kernel reads (flags, an int family): no
	// namespace flags, no AF_VSOCK (a network namespace does not isolate
	// vsock in a VM) and, without a network namespace, no IP or packet
	// sockets. Written by hand: the library's argument checks leave the
	// argument, not the call number, in the accumulator when they fail.
	allow := bpf.RetConstant{Val: uint32(seccomp.ActionAllow)}
	eperm := bpf.RetConstant{Val: uint32(seccomp.ActionErrno) | uint32(unix.EPERM)}
	arg0 := bpf.LoadAbsolute{Off: 16, Size: 4} // seccomp_data.args[0], low half (little endian)
	if info.ID != arch.X86_64.ID && info.ID != arch.AARCH64.ID {
		return nil, fmt.Errorf("seccomp: no argument layout for %s", info.Name)
	}
	prefix = append(prefix,
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(unix.SYS_CLONE), SkipFalse: 4},
		arg0,
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: uint32(nsCloneFlags), SkipFalse: 1},
		eperm,
		allow,
	)
	if callNetNS {
		// unshare: exactly CLONE_NEWUSER|CLONE_NEWNET (the high half of
		// the argument zero too); any other flags fall to EPERM.
		prefix = append(prefix,
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(unix.SYS_UNSHARE), SkipFalse: 6},
			bpf.LoadAbsolute{Off: 20, Size: 4}, // seccomp_data.args[0], high half
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0, SkipFalse: 3},
			arg0,
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(CallNamespaceFlags), SkipFalse: 1},
			allow,
			eperm,
		)
	}
	families := []uint32{unix.AF_VSOCK}
	if blockInet {
		families = append(families, unix.AF_INET, unix.AF_INET6, unix.AF_PACKET)
	}
	for _, call := range []struct {
		nr   uint32
		fams []uint32
	}{{unix.SYS_SOCKET, families}, {unix.SYS_SOCKETPAIR, []uint32{unix.AF_VSOCK}}} {
		// if nr == call: load family; for each refused family: if equal, EPERM; else allow.
		prefix = append(prefix, bpf.JumpIf{Cond: bpf.JumpEqual, Val: call.nr, SkipFalse: uint8(2*len(call.fams) + 2)}, arg0)
		for _, f := range call.fams {
			prefix = append(prefix, bpf.JumpIf{Cond: bpf.JumpEqual, Val: f, SkipFalse: 1}, eperm)
		}
		prefix = append(prefix, allow)
	}
	return append(append(prefix, selfOnly(allow, eperm)...), body...), nil
}

// selfOnly checks the calls by which a process may change another
// process of its uid: its resource limits, priority, CPU affinity and
// scheduling policy. They are allowed on the caller only (pid 0; for
// setpriority PRIO_PROCESS and who 0), and prlimit64 also to read
// another's limits (no new limit given). In a stateless sandbox the zygote
// and the init outlive each call, and whatever they hold is what the next
// call inherits; a lowered hard limit or priority could not be raised
// back without privileges. The accumulator holds the call number on entry
// and still does for a call not checked here.
func selfOnly(allow, eperm bpf.Instruction) []bpf.Instruction {
	arg := func(i int, high bool) bpf.Instruction { // seccomp_data.args[i], little endian
		off := uint32(16 + 8*i)
		if high {
			off += 4
		}
		return bpf.LoadAbsolute{Off: off, Size: 4}
	}
	var out []bpf.Instruction
	for _, c := range []struct {
		nr   uint32
		args []int // each must be 0
	}{
		{unix.SYS_SETPRIORITY, []int{0, 1}},
		{unix.SYS_SCHED_SETAFFINITY, []int{0}},
		{unix.SYS_SCHED_SETSCHEDULER, []int{0}},
		{unix.SYS_SCHED_SETPARAM, []int{0}},
		{unix.SYS_SCHED_SETATTR, []int{0}},
	} {
		n := len(c.args)
		out = append(out, bpf.JumpIf{Cond: bpf.JumpEqual, Val: c.nr, SkipFalse: uint8(2*n + 2)})
		for i, a := range c.args {
			// Not zero: skip the remaining checks and the allow, to EPERM.
			out = append(out, arg(a, false), bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0, SkipTrue: uint8(2*(n-1-i) + 1)})
		}
		out = append(out, allow, eperm)
	}
	return append(out,
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_PRLIMIT64, SkipFalse: 8},
		arg(0, false), bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0, SkipTrue: 4}, // pid 0: allow
		arg(2, false), bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0, SkipTrue: 3}, // a new limit: EPERM
		arg(2, true), bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0, SkipTrue: 1},
		allow, eperm)
}

// applySeccomp installs the filter on the calling thread (inherited by the
// worker it forks). no_new_privs must already be set. With callNetNS the
// filter lets unshare(CLONE_NEWUSER|CLONE_NEWNET), those flags exactly,
// through: a stateless sandbox's zygote gives each call's child a network
// namespace of its own that way, and the child refuses unshare to itself
// with a filter of its own before the call's code runs (worker.py).
func applySeccomp(blockInet, callNetNS bool) error {
	insts, err := seccompProgram(blockInet, callNetNS)
	if err != nil {
		return err
	}
	raw, err := bpf.Assemble(insts)
	if err != nil {
		return err
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); e != 0 {
		return fmt.Errorf("seccomp: %w", e)
	}
	return nil
}
