package local

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/observability"
)

// Defaults of the options.
const (
	DefaultMemoryLimit    = 1 << 30   // RLIMIT_AS of the worker: 1 GiB of address space
	DefaultMaxFileSize    = 64 << 20  // RLIMIT_FSIZE: 64 MiB per file
	DefaultMaxProcesses   = 64        // RLIMIT_NPROC: processes and threads
	DefaultMaxOpenFiles   = 256       // RLIMIT_NOFILE
	DefaultTmpSize        = 64 << 20  // size of the /tmp and /dev/shm tmpfs
	DefaultWorkDirSize    = 256 << 20 // size of the /work tmpfs
	DefaultMaxOutputBytes = 1 << 20   // stdout+stderr bytes kept per execution
	DefaultNice           = 0         // scheduling priority of sandboxed code: the host's own (see WithNice)
	DefaultTimeout        = 30 * time.Second
	defaultStartTimeout   = 10 * time.Second
	DefaultInterruptGrace = 100 * time.Millisecond // see WithInterruptGrace
	DefaultMemoryBudget   = 2 << 30                // memory of all a sandbox's processes together (see WithMemoryBudget)
	DefaultCPUQuota       = 1.0                    // CPU time per wall time of a sandbox, in cores (see WithCPUQuota)
	// DefaultHostUIDBase and DefaultHostUIDCount are the host uids given
	// to sandboxes, one each, when the host process is root (see
	// WithHostUIDRange): 65,536 uids from 0x70000000, far above the uids
	// distributions and /etc/subuid allocate.
	DefaultHostUIDBase  = 0x70000000
	DefaultHostUIDCount = 65536
)

type config struct {
	interpreter    string
	memory         int64
	maxFileSize    int64
	maxProcesses   int
	maxOpenFiles   int
	tmpSize        int64
	workSize       int64
	maxOutput      int
	timeout        time.Duration
	startTimeout   time.Duration
	interruptGrace time.Duration
	memoryBudget   int64
	workRoot       string
	logger         *slog.Logger
	allowUnsafe    bool
	forceLevel     level // tests: pretend only these layers work
	uidBase        int
	uidCount       int
	nice           int
	cpuCores       float64
	cgroups        *cgroups // tests: use these cgroups instead of detecting them
}

func defaultConfig() config {
	return config{
		memory:         DefaultMemoryLimit,
		maxFileSize:    DefaultMaxFileSize,
		maxProcesses:   DefaultMaxProcesses,
		maxOpenFiles:   DefaultMaxOpenFiles,
		tmpSize:        DefaultTmpSize,
		workSize:       DefaultWorkDirSize,
		maxOutput:      DefaultMaxOutputBytes,
		timeout:        DefaultTimeout,
		startTimeout:   defaultStartTimeout,
		interruptGrace: DefaultInterruptGrace,
		memoryBudget:   DefaultMemoryBudget,
		workRoot:       os.TempDir(),
		logger:         slog.Default(),
		uidBase:        DefaultHostUIDBase,
		uidCount:       DefaultHostUIDCount,
		nice:           DefaultNice,
		cpuCores:       DefaultCPUQuota,
	}
}

// Option configures a [Provider]: the options of this file, and the
// telemetry options of package observability (observability.WithLogger
// sets the logger of the isolation report and the sandbox lifecycle
// records). Invalid values panic in the option constructor
// ("local: WithX: ..."), as they are programmer errors.
//
// Every Option is also a [PrimitiveOption]: [NewCodeExecutionPrimitive]
// passes it on to the provider it builds.
type Option interface {
	PrimitiveOption
	ForLocal(seal.Token)
}

type option func(*config)

func (option) ForLocal(seal.Token)          {}
func (option) ForLocalPrimitive(seal.Token) {}

func applyOptions(c *config, opts []Option) {
	for i, o := range opts {
		switch o := o.(type) {
		case option:
			o(c)
		case observability.Option:
			if o.IsZero() {
				panic(fmt.Sprintf("local: New: option %d is the zero observability.Option", i))
			}
			p := observability.Providers{Logger: c.logger}
			o.ApplyTo(&p)
			c.logger = p.Log()
		case nil:
			panic(fmt.Sprintf("local: New: option %d is nil", i))
		default:
			panic(fmt.Sprintf("local: New: option %d (%T) is not an option of this package", i, o))
		}
	}
}

func mustPositive[T int | int64 | time.Duration](name string, v T) {
	if v <= 0 {
		panic(fmt.Sprintf("local: %s: value must be positive, got %v", name, v))
	}
}

// WithInterpreter sets the Python interpreter. The default is
// /usr/bin/python3 (then /usr/local/bin/python3, then python3 on PATH);
// symbolic links are resolved, and a version-manager shim (a script such
// as pyenv's) is replaced by the real binary it selects, because a shim
// costs ~90 ms per start. The interpreter must lie under /usr or in a
// directory tree readable by an unprivileged user: that tree is bound
// read-only into the sandbox. New refuses an interpreter the sandbox's
// uid could not run (a directory on its path not searchable by other
// users, such as a mode-700 home; a file without the execute bit for
// them) or one installed under /tmp, /work, /dev or /proc, which the
// sandbox's own mounts hide.
func WithInterpreter(path string) Option {
	if path == "" {
		panic("local: WithInterpreter: empty path")
	}
	return option(func(c *config) { c.interpreter = path })
}

// WithMemoryLimit bounds the worker's address space (RLIMIT_AS, so virtual
// memory); beyond it allocations fail with MemoryError. Default 1 GiB.
func WithMemoryLimit(bytes int64) Option {
	mustPositive("WithMemoryLimit", bytes)
	return option(func(c *config) { c.memory = bytes })
}

// WithMaxFileSize bounds the size of any file the sandbox writes
// (RLIMIT_FSIZE). Default 64 MiB.
func WithMaxFileSize(bytes int64) Option {
	mustPositive("WithMaxFileSize", bytes)
	return option(func(c *config) { c.maxFileSize = bytes })
}

// WithMaxProcesses bounds the processes and threads of the sandbox
// (RLIMIT_NPROC), which stops fork bombs. It counts every process of the
// sandbox: the worker and, in a stateless sandbox, the zygote and the
// child waiting for the next call too. With a pids cgroup the kernel
// also bounds the sandbox's tasks as a whole to n plus 16 (its init, the
// zygote and children forked ahead, the init's threads while it starts),
// whatever uid they run as. Default 64.
func WithMaxProcesses(n int) Option {
	mustPositive("WithMaxProcesses", n)
	return option(func(c *config) { c.maxProcesses = n })
}

// WithMaxOpenFiles bounds the open file descriptors per process
// (RLIMIT_NOFILE). Default 256.
func WithMaxOpenFiles(n int) Option {
	mustPositive("WithMaxOpenFiles", n)
	return option(func(c *config) { c.maxOpenFiles = n })
}

// WithNice sets the nice value the sandbox's code runs at, from 0 (the
// host's own priority, DefaultNice) to 19 (the lowest). Without a CPU
// cgroup nothing gives a sandbox a share of the CPU; at nice 10 the
// kernel's scheduler gives a busy host process about nine times the CPU
// of a busy sandboxed process (a sandbox may run up to WithMaxProcesses
// of them), so sandboxes yield to the program that runs them. The price:
// when the host is busy a niced sandbox also answers an interrupt more
// slowly, and one that has not finished within the grace after a
// timeout is killed instead, without its traceback (see
// WithInterruptGrace). Code in the
// sandbox may lower its priority further but never raise it (RLIMIT_NICE
// is 0 and it has no capabilities). It panics outside 0..19.
func WithNice(n int) Option {
	if n < 0 || n > 19 {
		panic(fmt.Sprintf("local: WithNice(%d): want 0..19", n))
	}
	return option(func(c *config) { c.nice = n })
}

// WithTmpSize sets the size of the sandbox's private /tmp (and /dev/shm)
// in memory. Default 64 MiB.
func WithTmpSize(bytes int64) Option {
	mustPositive("WithTmpSize", bytes)
	return option(func(c *config) { c.tmpSize = bytes })
}

// WithWorkDirSize sets the size of /work, a tmpfs (memory, not the
// host's disk) private to the sandbox, with one file allowed per 4 KiB.
// Writes beyond it fail with ENOSPC. Default DefaultWorkDirSize. Without
// a mount namespace (the "none" level) /work is a directory on the host's
// disk and only the per-file limit (WithMaxFileSize) applies. It panics
// if bytes is not positive.
func WithWorkDirSize(bytes int64) Option {
	mustPositive("WithWorkDirSize", bytes)
	return option(func(c *config) { c.workSize = bytes })
}

// WithMaxOutputBytes bounds the stdout and stderr bytes kept per
// execution (both streams together). Output beyond it is read and
// discarded, and a final chunk says how much was dropped. Results beyond
// the first are bounded by the same number of bytes (a final stderr chunk
// says how many were dropped). Default 1 MiB.
func WithMaxOutputBytes(n int) Option {
	mustPositive("WithMaxOutputBytes", n)
	return option(func(c *config) { c.maxOutput = n })
}

// WithDefaultTimeout sets the wall-clock limit of an execution whose
// RunOptions.Timeout is 0. Default 30 s.
func WithDefaultTimeout(d time.Duration) Option {
	mustPositive("WithDefaultTimeout", d)
	return option(func(c *config) { c.timeout = d })
}

// WithMemoryBudget sets the most memory a sandbox's processes may hold
// together. With a memory cgroup (Isolation names "cgroup_v1(memory...)"
// or "cgroup_v2(memory...)") it is the cgroup's limit, enforced by the
// kernel: anonymous and shared memory, page cache (the tmpfs mounts
// included) and the kernel memory charged to the sandbox, socket buffers
// among it (TCP buffers at most 32 MiB of it). Over it the kernel kills a
// process of the sandbox, and the sandbox ends: its run fails with a
// *sandbox.LimitError (not retryable: the same code would go over again;
// Used is the peak) carrying the output printed so far, also when the
// process killed was a subprocess. Without a memory cgroup the provider
// polls instead: it sums the anonymous resident memory of the sandbox's
// processes each second (every 100 ms while it runs code) and kills a
// sandbox over the budget; the poll does not see shared anonymous memory,
// a process whose main thread has exited, or kernel memory such as socket
// buffers, and code may go past the budget between two measurements.
// Default 2 GiB; 0 sets no budget.
func WithMemoryBudget(bytes int64) Option {
	if bytes < 0 {
		panic(fmt.Sprintf("local: WithMemoryBudget: value must not be negative, got %d", bytes))
	}
	return option(func(c *config) { c.memoryBudget = bytes })
}

// WithCPUQuota bounds the CPU time a sandbox may use to cores seconds
// per second of wall time, all its processes together (the CFS bandwidth
// quota of its cgroup: cpu.cfs_quota_us on cgroup v1, cpu.max on v2,
// over a 100 ms period); a sandbox over it waits until the next period.
// Besides the quota, the provider's sandboxes together weigh, for the
// scheduler, like one process group of the host (one cgroup of default
// weight, against the program's own session), however many processes and
// sessions they start. Default 1 core; 0 sets no quota (the weight still
// applies). It needs a cpu cgroup (see Isolation: "cgroup_v1(...cpu)" or
// "cgroup_v2(...cpu)"); without one it has no effect, and only WithNice
// and RLIMIT_NPROC bear on a sandbox's CPU. It panics on a negative or
// non-finite value.
func WithCPUQuota(cores float64) Option {
	if !(cores >= 0 && cores < 1e6) {
		panic(fmt.Sprintf("local: WithCPUQuota: want 0 or a positive number of cores, got %v", cores))
	}
	return option(func(c *config) { c.cpuCores = cores })
}

// withCgroups makes the provider use m instead of the cgroups it finds
// (tests: a cgroup v2 hierarchy of their own).
func withCgroups(m *cgroups) Option {
	return option(func(c *config) { c.cgroups = m })
}

// WithInterruptGrace sets how long a run that timed out or was cancelled
// has, after its interrupt, to stop and report: the output it printed is
// always kept, and within the grace the caller also gets the
// KeyboardInterrupt and its traceback. A run still going when the grace
// ends is killed. Either way the sandbox is closed afterwards, so the
// grace only delays the caller's return. On a busy host (or with
// WithNice) the interpreter may need longer than the default 100 ms to
// answer.
func WithInterruptGrace(d time.Duration) Option {
	mustPositive("WithInterruptGrace", d)
	return option(func(c *config) { c.interruptGrace = d })
}

// WithWorkDirRoot sets the host directory under which each sandbox gets
// its private directory (removed on Close). Default os.TempDir(). When
// the host process is root the sandbox runs as an unprivileged uid (its
// own, see WithHostUIDRange), so every component of dir must be
// searchable by other users (mode o+x); New reports an error otherwise.
func WithWorkDirRoot(dir string) Option {
	if dir == "" {
		panic("local: WithWorkDirRoot: empty path")
	}
	return option(func(c *config) { c.workRoot = dir })
}

// WithHostUIDRange sets the host uids (and gids, the same numbers) given
// to sandboxes: each live sandbox runs as a host uid of its own, from
// first to first+count-1, so the kernel's per-user counters (processes
// for RLIMIT_NPROC, pending signals, pipe buffer memory, descriptors in
// flight over unix sockets, and, since its user namespace is created
// under that uid, inotify and namespace counts) are charged to that
// sandbox and not shared between tenants or with root. The uids are
// reserved host-wide: no two live sandboxes on the host share one,
// whichever provider or process created them (two primitives in one
// program, two programs), through locks the kernel holds in the
// root-owned directory /run/ttadev-sandbox-uids (mode 0700, created by New
// if absent; New fails if it, or a directory above it, is owned or
// writable by another user, or is a symbolic link). A process that dies
// drops its reservations with it. A uid is reused once its sandbox is
// closed and its processes are gone; Create fails with
// *HostUIDsExhaustedError (not retryable) while every uid of the range is
// held. Reserving costs a few microseconds. It applies when the host
// process is root at the "userns" level (an unprivileged host can map
// only its own uid, which its sandboxes then share). The range must not
// hold uids used on the host. Default DefaultHostUIDBase,
// DefaultHostUIDCount. It panics unless first > 0, count > 0 and the
// range ends below 2^32-1.
func WithHostUIDRange(first, count int) Option {
	if first <= 0 || count <= 0 || int64(first)+int64(count) > 1<<32-2 {
		panic(fmt.Sprintf("local: WithHostUIDRange: invalid range first=%d count=%d", first, count))
	}
	return option(func(c *config) { c.uidBase, c.uidCount = first, count })
}

// withLevel makes the provider start its probe at a weaker degradation
// step, so tests can check each step on a machine where all work.
func withLevel(l level) Option {
	return option(func(c *config) { c.forceLevel = l })
}

// AllowUnsafe lets [New] succeed on a machine where the file system or the
// network cannot be isolated. Code then runs with whatever layers work
// (possibly only resource limits) and can read the host's files and reach
// the network. Use it only for code you trust.
func AllowUnsafe() Option {
	return option(func(c *config) { c.allowUnsafe = true })
}
