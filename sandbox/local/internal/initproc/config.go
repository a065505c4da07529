// Package initproc is the inside of a local sandbox: the code that runs as
// process 1 of the sandbox's namespaces, builds its root file system, drops
// privileges, installs the seccomp and Landlock filters and starts the
// Python worker. The host starts it by re-executing its own binary with
// [Marker] as argv[0]; package local's init function hands control to
// [Main] before the rest of the program runs.
package initproc

import "github.com/ttadev/primitives/sandbox/local/internal/earlyinit"

// Marker is argv[0] of a re-executed binary that must act as a sandbox init.
const Marker = earlyinit.Marker

// Fixed file descriptors of the init process.
const (
	FDConfig = 3                  // JSON Config, read to EOF
	FDStdout = 4                  // write end of the worker's stdout pipe
	FDStderr = 5                  // write end of the worker's stderr pipe
	FDCmd    = 6                  // read end of the command pipe
	FDEvents = 7                  // write end of the event pipe
	FDPlan   = earlyinit.FDPlan   // the mount plan (MountPlan), read by package earlyinit
	FDWorker = earlyinit.FDWorker // the worker's code, when Config.Worker (passed on as fd 5)
)

// Config tells the init what to build. The host fills it in from its probe
// and options; every layer can be switched off so the probe can test it.
type Config struct {
	Probe bool `json:"probe"` // report the layers that work and exit

	Mount   bool     `json:"mount"`    // new root via pivot_root (needs a mount namespace)
	RootDir string   `json:"root_dir"` // host path of an empty directory to mount the new root on
	WorkDir string   `json:"work_dir"` // host path of the writable work dir (mounted at /work)
	TmpDir  string   `json:"tmp_dir"`  // host path of the private temp dir (used without a mount namespace)
	ROBinds []string `json:"ro_binds"` // extra host paths bound read-only at the same place
	// Binds are extra host directories bound read-only at another path
	// of the sandbox (with a mount namespace; without one the sandbox
	// sees them at their host path, readable under Landlock).
	Binds []Bind `json:"binds,omitempty"`
	// Files are written, read-only, into the sandbox's own root (with a
	// mount namespace only): the sandbox sees them with no bind mount,
	// so its mount table names no host path for them.
	Files    []File `json:"files,omitempty"`
	TmpBytes int64  `json:"tmp_bytes"` // size of the /tmp tmpfs
	// WorkBytes is the size of the tmpfs mounted at /work (with a mount
	// namespace; WorkDir is then not used inside).
	WorkBytes int64 `json:"work_bytes"`
	NetNS     bool  `json:"net_ns"` // in a new network namespace: bring lo up
	UTS       bool  `json:"uts"`    // in a new UTS namespace: set the hostname
	PidNS     bool  `json:"pid_ns"` // process 1 of a new pid namespace
	// CgroupNS: the init was started in a cgroup namespace and then put in
	// the sandbox's own cgroup; it enters a new cgroup namespace rooted
	// there, so /proc/self/cgroup inside shows "/" and no host path.
	CgroupNS bool `json:"cgroup_ns,omitempty"`

	DropUID int `json:"drop_uid"` // >= 0: switch to this uid/gid before starting the worker (no user namespace)
	DropGID int `json:"drop_gid"`

	Seccomp bool `json:"seccomp"`
	// CallNetNS lets the seccomp filter pass unshare(CallNamespaceFlags):
	// a stateless sandbox's calls each get a network namespace of their
	// own (see applySeccomp).
	CallNetNS   bool `json:"call_netns,omitempty"`
	BlockInet   bool `json:"block_inet"` // seccomp: refuse IP sockets (when there is no network namespace)
	Landlock    bool `json:"landlock"`
	LandlockNet bool `json:"landlock_net"` // Landlock: refuse TCP connect

	// UserLimits are written to /proc/sys/user/<name> of the sandbox's own
	// user namespace before privileges are dropped: they bound what the
	// sandbox can charge to the per-user-namespace counters (inotify,
	// fanotify, namespaces) that the kernel also charges to the user who
	// created the namespace. Only set with a user namespace.
	UserLimits map[string]int `json:"user_limits,omitempty"`

	// Shell is a POSIX shell to run as process 1 (see shellInit), or ""
	// to make the interpreter itself process 1.
	Shell       string   `json:"shell"`
	Interpreter string   `json:"interpreter"`
	Args        []string `json:"args"` // argv[1:] of the worker
	// Worker: FDWorker carries the worker's code, which the interpreter
	// reads on fd 5 (see the loader in Args) instead of from its
	// arguments, where every process of the sandbox would keep copies.
	Worker bool     `json:"worker,omitempty"`
	Env    []string `json:"env"`
	Dir    string   `json:"dir"` // working directory of the worker
}

// CallNamespaceFlags are the flags of the one unshare a stateless
// sandbox's call child makes: a user namespace, which needs no privilege
// and gives it the right to make a network namespace of its own.
const CallNamespaceFlags = 0x10000000 | 0x40000000 // CLONE_NEWUSER | CLONE_NEWNET

// Report is the first event the init writes: which layers are in force.
type Report struct {
	T       string            `json:"t"` // "init"
	Active  []string          `json:"active"`
	Missing map[string]string `json:"missing,omitempty"`
	Fatal   string            `json:"fatal,omitempty"`
}

// File is a file of the sandbox's root: its absolute path, content and
// permission bits (the directories above it are created mode 0755).
type File struct {
	Path string `json:"path"`
	Data string `json:"data"`
	Mode uint32 `json:"mode"`
}

// Bind is a host directory (Src) seen read-only at Dst in the sandbox.
type Bind struct {
	Src string `json:"src"`
	Dst string `json:"dst"`
}
