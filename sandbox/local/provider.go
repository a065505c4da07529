//go:build linux

package local

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ttadev/primitives/sandbox"
)

//go:embed worker.py
var workerScript string

// Provider creates sandboxes on this machine: each is a persistent Python
// worker inside its own namespaces (see the package documentation). It
// implements sandbox.Provider and is safe for concurrent use.
type Provider struct {
	cfg         config
	plan        plan
	iso         Isolation
	interpreter string
	roBinds     []string
	// worker is what the worker's loader reads on fd 5 and runs (see
	// loadWorker): worker.py compiled by the interpreter, or its source.
	worker worker

	mu        sync.Mutex
	closed    bool
	sandboxes map[*Sandbox]struct{}
	// uids reserves each sandbox's host uid host-wide (perUID only).
	uids *uidAllocator
	// nextUID is the offset in the range to try first: random at New, so
	// providers (of this or other processes) start apart and seldom try
	// uids another holds.
	nextUID int
	perUID  bool // each sandbox gets a host uid of its own
	// watching is true while the memory watch runs: from the first open
	// sandbox until none is left (or Close closes stopWatch).
	watching  bool
	stopWatch chan struct{}
	// cgroups gives each sandbox a cgroup of its own (nil where the host
	// process can create none: the memory watch is the fallback).
	cgroups *cgroups
}

var _ sandbox.Provider = (*Provider)(nil)

// New returns a Provider. The first call in a process probes which
// isolation layers work on this machine (a few milliseconds: it starts a
// throw-away sandbox init for each degradation step tried); later calls
// reuse the result. The "local sandbox isolation" record listing the
// layers is written once per process for each distinct result (level,
// layers, interpreter): at Info when the isolation is full, and at Warn,
// by every New, when it is degraded (file system or network not
// isolated, or a level below "userns"). New fails with
// [ErrIsolationUnavailable] if neither the file system nor the network
// can be isolated, unless [AllowUnsafe] is given, and with an error if no
// Python interpreter is found or if the sandbox's uid could not run the
// one found (a directory on its path not searchable by that uid, e.g. a
// mode-700 home when the host runs as root, or a file it may not
// execute). With a root host process at the "userns" level, New also
// opens the host-wide uid reservations (see WithHostUIDRange), and fails
// if their directory, /run/ttadev-sandbox-uids, cannot be trusted.
// Invalid option values panic.
func New(opts ...Option) (*Provider, error) {
	cfg := defaultConfig()
	applyOptions(&cfg, opts)
	exe, err := resolveInterpreter(cfg.interpreter)
	if err != nil {
		return nil, err
	}
	var p plan
	var iso Isolation
	if cfg.forceLevel != 0 {
		p, iso = runProbe(cfg.workRoot, cfg.forceLevel)
	} else {
		p, iso = probeIsolation(cfg.workRoot)
	}
	if p.hostUID != os.Geteuid() {
		if err := checkTraversable(cfg.workRoot); err != nil {
			return nil, err
		}
	}
	perUID := p.level == levelUserNS && os.Geteuid() == 0
	uid, gid := p.hostUID, p.hostGID
	if perUID {
		uid, gid = cfg.uidBase, cfg.uidBase
	}
	if err := checkInterpreterUsable(exe, uid, gid, p.mount); err != nil {
		return nil, err
	}
	var uids *uidAllocator
	if perUID {
		if uids, err = sharedUIDAllocator(); err != nil {
			return nil, err
		}
		iso.Active = append(iso.Active, "uid_per_sandbox")
	}
	cg := cfg.cgroups
	if cg == nil {
		cg = addCgroups(&iso)
	} else {
		iso.Active = append(iso.Active, cg.fs.name())
	}
	logIsolation(cfg.logger, iso, exe, cfg.allowUnsafe)
	if !(iso.FilesystemIsolated && iso.NetworkIsolated) && !cfg.allowUnsafe {
		return nil, fmt.Errorf("%w (level %s, missing: %v)", ErrIsolationUnavailable, iso.Level, iso.Missing)
	}
	return &Provider{cfg: cfg, plan: p, iso: iso, interpreter: exe, roBinds: interpreterBinds(exe),
		worker:    loadWorker(exe),
		sandboxes: map[*Sandbox]struct{}{}, uids: uids, perUID: perUID,
		nextUID:   mrand.IntN(cfg.uidCount),
		stopWatch: make(chan struct{}), cgroups: cg}, nil
}

// loggedIsolation holds the isolation results already logged at Info in
// this process (see logIsolation).
var loggedIsolation sync.Map

// logIsolation writes the isolation record: at Warn every time when the
// isolation is degraded, else at Info the first time this result is seen
// in the process.
func logIsolation(logger *slog.Logger, iso Isolation, exe string, unsafe bool) {
	missing := slices.Sorted(maps.Keys(iso.Missing))
	args := []any{"isolation_level", iso.Level, "active", iso.Active, "missing", missing,
		"interpreter", exe, "unsafe_allowed", unsafe}
	if degraded(iso) {
		logger.Warn("local sandbox isolation", append(args,
			"filesystem_isolated", iso.FilesystemIsolated, "network_isolated", iso.NetworkIsolated)...)
		return
	}
	key := fmt.Sprint(iso.Level, iso.Active, missing, exe, unsafe)
	if _, seen := loggedIsolation.LoadOrStore(key, true); seen {
		return
	}
	logger.Info("local sandbox isolation", args...)
}

// degraded reports whether iso falls short of the full isolation: the
// file system or the network not isolated, or a level below "userns".
func degraded(iso Isolation) bool {
	return !iso.FilesystemIsolated || !iso.NetworkIsolated || iso.Level != levelUserNS.String()
}

// allocUID reserves a host uid for a new sandbox: when the provider gives
// one per sandbox, a uid of the configured range that no live sandbox on
// the host holds, whichever provider or process created it (see
// uidAllocator; *HostUIDsExhaustedError when there is none), taken round
// the range from after the provider's last one; else the plan's shared
// one (and release does nothing).
func (p *Provider) allocUID() (int, error) {
	if !p.perUID {
		return p.plan.hostUID, nil
	}
	p.mu.Lock()
	start := p.nextUID
	p.mu.Unlock()
	uid, next, err := p.uids.acquire(p.cfg.uidBase, p.cfg.uidCount, start)
	if err != nil {
		return 0, err
	}
	p.mu.Lock()
	p.nextUID = next
	p.mu.Unlock()
	return uid, nil
}

// releaseUID gives back a uid once nothing of its sandbox runs any more
// (its init has exited: the pid namespace's processes died with it).
func (p *Provider) releaseUID(uid int) {
	if p.perUID {
		p.uids.release(uid)
	}
}

// Name returns "local".
func (p *Provider) Name() string { return "local" }

// Interpreter returns the resolved path of the Python interpreter.
func (p *Provider) Interpreter() string { return p.interpreter }

// Isolation returns the layers the provider's sandboxes run under. A
// sandbox created with AllowInternet lacks "netns".
func (p *Provider) Isolation() Isolation {
	iso := p.iso
	iso.Active = slices.Clone(iso.Active)
	iso.Missing = maps.Clone(iso.Missing)
	return iso
}

// Create starts a sandbox and returns once its worker answered (about
// 20–30 ms). opts.AllowInternet gives the sandbox the host's network
// (no network namespace and no socket filter): that is what pip install
// needs, and it is off by default. opts.Env is set for every execution;
// nothing else from the host environment enters the sandbox. Template and
// Metadata are ignored. A positive opts.Lifetime kills the sandbox when it
// passes. opts.Stateless gives a sandbox whose every run starts from a
// clean slate (see [Sandbox]).
func (p *Provider) Create(ctx context.Context, opts sandbox.CreateOptions) (sandbox.Sandbox, error) {
	return p.create(ctx, opts)
}

func (p *Provider) create(ctx context.Context, opts sandbox.CreateOptions) (*Sandbox, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, sandbox.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := startSandbox(ctx, p, opts)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		s.Close(context.Background())
		return nil, sandbox.ErrClosed
	}
	p.sandboxes[s] = struct{}{}
	if p.cfg.memoryBudget > 0 && !p.watching {
		p.watching = true
		go p.watchMemory(p.stopWatch)
	}
	p.mu.Unlock()
	return s, nil
}

func (p *Provider) forget(s *Sandbox) {
	p.mu.Lock()
	delete(p.sandboxes, s)
	p.mu.Unlock()
}

// Close closes every sandbox the provider created that is still open;
// later Create calls fail with sandbox.ErrClosed. It is idempotent.
func (p *Provider) Close() error {
	p.mu.Lock()
	if !p.closed {
		close(p.stopWatch)
	}
	p.closed = true
	open := slices.Collect(maps.Keys(p.sandboxes))
	p.mu.Unlock()
	for _, s := range open {
		s.Close(context.Background())
	}
	return nil
}

// Per-sandbox bounds of kernel counters charged to the sandbox's uid:
// queued signals (RLIMIT_SIGPENDING, for every process of the sandbox's
// uid) and locked memory.
const (
	maxPendingSignals = 256
	maxLockedMemory   = 64 << 10
)

// workerArgs are the interpreter's arguments: no bytecode files, the
// embedded worker (compiled, see compileWorker, or as source), and its
// settings (text limit, rlimits, and for a stateless worker the
// directories it empties after each cell).
func (p *Provider) workerArgs(clean []string) []string {
	settings := fmt.Sprintf("%d RLIMIT_AS=%d RLIMIT_FSIZE=%d RLIMIT_NOFILE=%d RLIMIT_NPROC=%d RLIMIT_CORE=0 RLIMIT_SIGPENDING=%d RLIMIT_MSGQUEUE=0 RLIMIT_MEMLOCK=%d RLIMIT_NICE=0 nice=%d",
		p.cfg.maxOutput, p.cfg.memory, p.cfg.maxFileSize, p.cfg.maxOpenFiles, p.cfg.maxProcesses, maxPendingSignals, maxLockedMemory, p.cfg.nice)
	if len(clean) > 0 {
		settings += " clean=" + strings.Join(clean, ":")
	}
	return []string{"-B", "-c", p.worker.loader, settings}
}

// worker is the Python worker as the interpreter receives it: code on fd
// 5 (see initproc.Config.Worker) and the loader, in its arguments, that
// reads and runs it; the bytes read are freed once it is loaded.
type worker struct {
	code   []byte
	loader string
}

var compiledWorkers sync.Map // interpreter path → worker

// loadWorker returns the worker compiled by the interpreter exe
// (marshalled), or its source if that fails. Every sandbox would
// otherwise compile the worker's source at start, and the interpreter
// keeps the memory that took (about 1.4 MiB per sandbox). Computed once
// per interpreter per process (tens of milliseconds).
func loadWorker(exe string) worker {
	if v, ok := compiledWorkers.Load(exe); ok {
		return v.(worker)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-I", "-S", "-c",
		"import sys, marshal; sys.stdout.buffer.write(marshal.dumps(compile(sys.stdin.read(), 'worker.py', 'exec')))")
	cmd.Stdin = strings.NewReader(workerScript)
	cmd.Env = []string{}
	w := worker{code: []byte(workerScript),
		loader: "import os\nwith os.fdopen(5, 'rb') as _f:\n    _c = compile(_f.read(), 'worker.py', 'exec')\ndel _f\nexec(_c)"}
	if out, err := cmd.Output(); err == nil && len(out) > 0 {
		w = worker{code: out,
			loader: "import os, marshal\nwith os.fdopen(5, 'rb') as _f:\n    _c = marshal.loads(_f.read())\ndel _f\nexec(_c)"}
	}
	compiledWorkers.Store(exe, w)
	return w
}

// checkTraversable verifies that an unprivileged uid can reach dir: the
// sandbox's uid must traverse it to reach its work directory.
func checkTraversable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := abs; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("local: work dir root: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("local: work dir root %s: %s is not searchable by other users (mode %v); the sandbox's unprivileged uid must traverse it", abs, p, fi.Mode().Perm())
		}
		if p == "/" {
			return nil
		}
	}
}

func newID() string {
	var b [6]byte
	rand.Read(b[:])
	return "local-" + hex.EncodeToString(b[:])
}

func newNonce() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// effectiveTimeout is the execution's wall-clock budget.
func effectiveTimeout(ctx context.Context, opt, def time.Duration) time.Duration {
	d := opt
	if d <= 0 {
		d = def
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < d {
			d = max(left, 0)
		}
	}
	return d
}
