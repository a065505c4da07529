// Package local runs untrusted Python on this machine: each sandbox is a
// persistent Python worker (state persists between runs, like a Jupyter
// kernel) inside its own Linux namespaces, with no account, no key and no
// network. [Provider] implements sandbox.Provider and [Sandbox] implements
// sandbox.Sandbox, so pipelines built on the sandbox contract run here or
// on E2B unchanged. It needs Linux: the package builds on every system,
// but elsewhere [New] returns [ErrUnsupportedPlatform] ("set E2B_API_KEY
// to use E2B").
//
//	p, err := local.New()               // probes isolation once, logs the layers
//	sb, err := p.Create(ctx, sandbox.CreateOptions{})
//	ex, err := sb.Run(ctx, "x = 21\nx * 2", sandbox.RunOptions{})
//	fmt.Println(ex.Text())              // 42
//	sb.Close(ctx)
//
// A new sandbox answers its first cell in about 25 ms; a trivial cell on a
// warm sandbox takes about 50 µs (see the package benchmarks).
//
// # How it starts: re-executing this program
//
// No external binary is needed. Create re-executes the running program
// (/proc/self/exe) with a marker as argv[0], in new namespaces. This
// package's init function recognises the marker and hands control to the
// sandbox init before the rest of the program runs (main never runs in
// the child). Any program or test binary that imports this package
// therefore works without extra code.
//
// The program's other package init functions do run in the child, but
// not against the host: an internal package that imports nothing is,
// by the language's initialisation order, initialised before every
// package that can make a system call, and it builds the sandbox's root
// file system and pivots into it (from a plan the host sent), and closes
// inherited descriptors, before any of them runs. The network namespace
// exists from the start. So an init function that writes a file or opens
// a socket acts inside the sandbox. Limits: at the "none" level (no mount
// namespace) and with CreateOptions.AllowInternet (no network namespace)
// init functions see the host's file system or network respectively; C
// constructors of cgo packages run before any Go code and are not
// covered; the init functions still run before the capability drop,
// Landlock and seccomp, with the privileges of root in the sandbox's user
// namespace. Once the layers are in place the sandbox init replaces
// itself (exec) with a small process 1 — a POSIX shell loop, or the
// interpreter itself where /bin/sh is missing — that starts the Python
// worker, reaps orphans and forwards interrupts; when the worker exits it
// exits the same way, and the kernel kills every process left in the
// sandbox. No Go runtime, and no mapping of the host program's binary,
// stays in a running sandbox, and the Python worker's own code comes on a
// pipe rather than in its arguments (where each process would keep
// several copies): an idle session costs about 3.1 MiB of proportional
// memory (BenchmarkDenseSessions).
//
// # Layers
//
// In order of set-up, each sandbox gets:
//
//   - user namespace ("userns") mapping the sandbox's root to an
//     unprivileged host uid ("uid_mapped": one of its own from
//     WithHostUIDRange when the host process is root, else the caller's
//     own uid), so root inside is nobody outside:
//     root-only host files such as /etc/shadow stay unreadable and
//     RLIMIT_NPROC is enforced;
//   - mount namespace and pivot_root onto a fresh tmpfs
//     ("mountns+pivot_root") holding read-only binds of /usr (and /bin,
//     /lib, /lib64 as on the host), a filtered /etc (dynamic linker,
//     time zone, name service, TLS and Python configuration only — no
//     shadow, sudoers or ssh files, and synthetic passwd and group), a
//     private writable /work (the current and home directory), a private
//     /tmp and /dev/shm, all three tmpfs of bounded size and file count
//     (WithWorkDirSize, WithTmpSize: memory, never the host's disk), a
//     /proc of the sandbox's own pid namespace, read-only once the init
//     has set the namespace's limits ("proc_readonly": no process writes
//     another's memory or settings through it, even without Landlock),
//     and a minimal /dev (null, zero, full, random, urandom); the root
//     itself is read-only;
//   - pid, network, IPC, UTS and cgroup namespaces ("pidns", "netns",
//     "ipcns", "utsns", "cgroupns"): the sandbox sees only its own
//     processes, and its network is a loopback interface of its own (the
//     host's loopback and every other network are unreachable);
//   - no_new_privs, Landlock ("landlock(abi=N)": the file system beyond
//     the paths above is denied even if a mount were reachable), every
//     capability dropped including the bounding set, with secure bits
//     locked so uid 0 never regains them ("caps_dropped");
//   - a seccomp filter ("seccomp") that is an allow list: the system
//     calls an interpreter and common native libraries use pass, a
//     named set is refused with EPERM (mount and namespace calls,
//     ptrace and process_vm_*, bpf, perf_event_open, io_uring, keyrings,
//     userfaultfd, kernel modules and kexec, clock setting, sync and
//     syncfs, fanotify, kernel AIO, SysV IPC, POSIX message queues,
//     memfd, mincore and cachestat, clone with namespace flags,
//     changing another process's limits, priority, CPU affinity or
//     scheduling policy (which a stateless sandbox's next call would
//     inherit from the zygote),
//     socket(AF_VSOCK) — a network namespace does not isolate vsock in a
//     VM), and every other call, including any newer than the lists,
//     fails with ENOSYS; any system call of a foreign architecture or
//     ABI (int 0x80, x32) kills the process;
//   - per-sandbox kernel counters: at the "userns" level with a root host
//     process, each sandbox runs as a host uid of its own
//     ("uid_per_sandbox", WithHostUIDRange), so per-user counters (pipe
//     buffer memory, queued signals, processes, descriptors in flight)
//     are its own; its user namespace is created under that uid, not by
//     root ("userns_owner"), so what the kernel counts per namespace
//     (inotify instances and watches, fanotify, namespaces) is charged to
//     the sandbox's uid too, and the sandbox carries none of the host
//     process's supplementary groups; the namespace caps inotify
//     instances (16) and watches (4096), fanotify, and nested namespaces
//     (none) ("userns_limits"); RLIMIT_SIGPENDING (256) and
//     RLIMIT_MEMLOCK (64 KiB) bound queued signals and locked memory;
//   - resource limits ("rlimits"), set by the worker itself before it
//     reads any code, so they bind everything the code starts: address
//     space (WithMemoryLimit), file size (WithMaxFileSize), open files
//     (WithMaxOpenFiles), processes and threads (WithMaxProcesses), no
//     core dumps, and the scheduling priority (WithNice; RLIMIT_NICE 0,
//     so the code can lower it but not raise it);
//   - a clean environment ("clean_env"): PATH, HOME=/work, TMPDIR, LANG
//     and PYTHON* settings, plus CreateOptions.Env and RunOptions.Env —
//     nothing from the host's environment, so no API key leaks in;
//   - a wall-clock limit per execution (RunOptions.Timeout, default
//     30 s): the worker is interrupted (KeyboardInterrupt), then, when it
//     has stopped or its grace is over (WithInterruptGrace, default
//     100 ms), the whole sandbox is killed and Run reports a timeout with
//     the output printed so far. The sandbox is then dead; create a new
//     one (sandbox.Pool does).
//
// # Degradation and unsafe mode
//
// [New] probes once per process which layers work, starting from the
// strongest step: "userns" (everything above); "rootns" (host root
// without user namespaces: the same namespaces, the worker switched to
// uid 65534); "none" (no namespaces: Landlock confines the file system and
// seccomp refuses IP sockets, the worker runs as uid 65534 when the host
// is root, and a subreaper init kills the worker's leftovers). A layer
// that fails is listed in [Isolation].Missing with the reason, and a
// "local sandbox isolation" record lists the active layers: at Info once
// per process for each distinct result, and at Warn from every New when
// the isolation is degraded (a level below "userns", or the file system
// or the network not isolated). If neither a mount namespace nor
// Landlock can confine the file system, or neither a network namespace
// nor seccomp can cut the network, New returns [ErrIsolationUnavailable]
// unless [AllowUnsafe] is given.
//
// # Network and pip
//
// The network is off by default. sandbox.CreateOptions.AllowInternet (the
// CodeExecution primitive's enable_pip_install) means "give this sandbox
// the host's network": no network namespace and no socket filter, so the
// code can reach anything the host can, including services on the host's
// loopback. Use it only when the code must install packages, and prefer
// building an interpreter with the packages preinstalled
// (WithInterpreter). The file system stays isolated.
//
// With the network on, pip installs into the sandbox's own site,
// /work/.site-packages (PIP_TARGET), which is first on sys.path
// (PYTHONPATH) and whose bin directory is on PATH: `pip install x` from a
// cell (subprocess.run([sys.executable, "-m", "pip", "install", "x"]),
// os.system("pip install x")) works on a distribution Python that refuses
// installs into itself (PEP 668), never writes the host's Python, and the
// package imports in the next cell (in the same cell after
// importlib.invalidate_caches()). The site lives in /work, so an install
// lasts as long as a session sandbox, and only for its call in a stateless
// one. sandbox.WithPackageIndex sets the index pip uses. With the network
// off, pip (the command, python -m pip, import pip) stops at once with
// [PipDisabledMessage] instead of the PEP 668 text or a network timeout.
//
// # Output
//
// stdout and stderr are read by the host from the worker's file
// descriptors 1 and 2, so the output of os.system, subprocesses and C
// extensions is captured too, in order within each stream. Python's
// sys.stdout and sys.stderr are line buffered: a print arrives as one
// chunk, and a partial line is flushed at the end of the cell. At most
// WithMaxOutputBytes (default 1 MiB) are kept per execution; the rest is
// read and discarded and a final chunk says how much was dropped.
//
// # What it does not protect against
//
// Every layer here shares the host's kernel. A kernel vulnerability
// reachable through the allowed system calls, a side channel (cache
// timing, Spectre-class leaks, contention) or a resource the limits do
// not cover (without cgroups: CPU time, shared and kernel memory, socket
// buffers, a burst between two measurements of the memory watch) can
// still hurt the host or other sandboxes.
//
// A session's worker shares its interpreter with the code it runs. Code
// can read the current run's nonce from the worker's frames, forge end
// markers and result events, patch the worker or leave threads and background
// processes behind: what a sandbox reports is only as trustworthy as the
// code it ran (the host stays safe: output and results are bounded, and
// a desynchronised or silent worker ends in a timeout). On a persistent
// (session) sandbox, Reset gives a fresh namespace, not a fresh worker:
// patched worker code, threads, background processes and files in /work
// survive it and can observe or alter the next runs, including their
// RunOptions.Env.
//
// # Stateless sandboxes: a clean slate per run
//
// A stateless sandbox.Pool (the CodeExecution primitive's default) asks
// for stateless sandboxes (CreateOptions.Stateless). Their worker is a
// zygote: a Python process that has imported what the worker needs, is
// not dumpable (its memory and descriptors are closed to /proc) and never
// runs user code. Each run is a child forked from it with a slot of its
// own: four pipes the host made for that run alone and passed to the
// zygote over a unix socket ahead of the run, which become the child's
// command, stdout, stderr and event descriptors. The host writes the
// command straight into the slot (the zygote never holds a caller's code
// or environment); whatever the run sets on its descriptors (non-blocking
// mode, the pipe size, an owner for I/O signals) stays with pipes no
// other run holds; its output ends where its pipes end, once its last
// process is gone; and the end of the run is the zygote's event on a pipe
// no child holds, so there is no secret for a run to steal and no end to
// forge. Each run's child is forked two runs ahead and waits with every
// signal blocked. When the child ends, the zygote kills every other process of
// the sandbox (all of the pid namespace but the init, itself and the next
// child, until none is left), empties /work (the home directory), /tmp
// and /dev/shm without recursion, restoring their modes and removing
// their extended attributes, resumes the next child (SIGCONT) and waits
// for its answer to a ping, which a child with a SIGKILL pending never
// gives (it is then replaced on the same slot), and only then reports the
// end: no process of a run is left to signal the next one's once its
// command can come. It then forks the child of the run after the next.
// So nothing of a run is
// visible to the next: files, environment, processes and threads,
// imported modules and their patches, builtins, open descriptors and
// their flags, working directory, signal handlers, masks, pending signals
// and alarms, rlimits lowered by the code, CPU time and peak memory; a run
// cannot change the limits, priority, affinity or scheduling policy of
// the processes that outlive it (seccomp), nor their memory (/proc is
// read-only). SysV IPC and POSIX message queues, which would outlive the
// processes, are refused by the seccomp filter. Each run has a network
// namespace of its own, made by its child in a user namespace of its own
// before its command comes (layer "netns_per_call"; there the run's uid
// is the overflow uid 65534), so no port left in TIME_WAIT, socket or
// /proc/net counter of one run is seen by the next; where the kernel
// refuses an unprivileged user namespace the runs share the sandbox's and
// Isolation().Missing says so. The runs of one sandbox share the zygote's
// hash seed and its address-space layout. A run
// that crashes the child (os._exit, a fatal signal) or kills the zygote
// kills the sandbox as on a persistent worker. Without a pid namespace
// (level "none") the zygote kills the init's descendants instead, and the
// host's /dev/shm is not emptied.
//
// A clean slate is not isolation from the host's kernel (see below), and
// callers of one pool still share its sandboxes' CPU and memory bounds.
//
// Resources: where the host process may create cgroups under its own
// (root on a cgroup v1 host, or a cgroup v2 hierarchy whose controllers
// its cgroup can delegate; see docs/local-sandbox.md), each sandbox gets
// a cgroup of its own, <own cgroup>/ttadev-<pid>-<n>/<sandbox id>, which
// the init enters before any sandboxed code runs and which is the root of
// the sandbox's cgroup namespace. Isolation().Active names it, e.g.
// "cgroup_v1(memory,pids,cpu)". The kernel then bounds the sandbox's
// memory — anonymous, shared, page cache and the kernel memory charged to
// it, socket buffers included — to WithMemoryBudget (2 GiB by default),
// its TCP buffers to 32 MiB of that (so its loopback connections cannot
// starve the host's TCP), its processes and threads to WithMaxProcesses
// plus 16 of its own, and its CPU to WithCPUQuota (1 core), all the
// provider's sandboxes together weighing like one process group of the
// host. Going over the memory budget ends the sandbox: its run fails with
// a *sandbox.LimitError (Used is the peak) and the output printed so far,
// also when the process the kernel killed was a subprocess. Teardown
// kills whatever is left in the cgroup and removes it.
//
// Without a memory cgroup (Isolation().Missing["cgroup"] says why) a
// sandbox's memory is bounded by RLIMIT_AS per process (virtual memory,
// WithMemoryLimit) times RLIMIT_NPROC processes (WithMaxProcesses), the
// sizes of its tmpfs mounts (/work, /tmp, /dev/shm), pipe buffers per
// uid, and the refusal of memfd and SysV shared memory, and its resident
// memory by the provider's memory watch, which sums the anonymous
// resident memory of the sandbox's processes every 100 ms while it runs
// code and every second otherwise, and kills a sandbox over its budget.
// The watch does not see shared anonymous memory (mmap(-1, n)), a
// process whose main thread has exited, socket buffers or other kernel
// memory, nor a burst between two measurements; nothing then bounds a
// sandbox's TCP buffers or its CPU share (each setsid session is a
// scheduler autogroup as heavy as the host program). The kernel's OOM
// killer is the last resort either way, and it takes a sandboxed process
// first, the largest, before any of the host's: every process of a
// sandbox has the highest oom_score_adj ("oom_first"), which its code
// cannot lower.
//
// Shared kernel counters: with a root host process at the "userns" level
// every per-user and per-user-namespace counter is charged to the
// sandbox's own uid, and the system-wide ones are bounded per sandbox by
// its rlimits (docs/local-sandbox.md lists each). Where the kernel does
// not let that uid create a user namespace, root creates it and
// Isolation().Missing names "userns_owner": the namespace's counts are
// then charged to root as well, each sandbox's share capped. An
// unprivileged host process's sandboxes all run as, and charge, its own
// uid. CPU time: see Resources above. By default
// sandboxed code runs at the host's priority; WithNice(10) makes it yield
// (process for process, the program running it then gets about nine
// times its CPU when both are busy, though a sandbox may run up to
// WithMaxProcesses processes), and the code cannot raise it back. An
// execution is bounded by wall clock.
//
// The degraded levels are weaker. Without a pid namespace ("none") the
// init runs as the sandbox's uid, so code can kill it and leave
// processes that outlive Close, /work is on the host's disk (bounded
// per file only), and host processes are visible in /proc. At "rootns"
// and "none" every sandbox runs as host uid 65534, so RLIMIT_NPROC
// counts the processes of all of them together.
//
// The local sandbox is meant for code that is untrusted but not targeted
// at you: model-written code, tests, CI, a laptop. For hostile
// multi-tenant load use E2B (integrations/e2b), which gives each sandbox
// its own Firecracker microVM and kernel.
package local
