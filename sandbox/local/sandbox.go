//go:build linux

package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// Sandbox is one isolated, persistent Python worker. Variables, imports
// and files in /work persist between runs, as in a Jupyter kernel. Run and
// Reset calls are serialised; Close may be called at any time from any
// goroutine. It implements sandbox.Sandbox.
//
// A stateless sandbox (created with CreateOptions.Stateless, as a
// stateless sandbox.Pool does) keeps nothing between runs: its worker is a
// pre-imported zygote that never runs code itself; each run is a child
// forked from it, and after the run every process left in the sandbox is
// killed and /work, /tmp and /dev/shm are emptied before the next run is
// read. A run costs about a millisecond more than on a persistent worker.
//
// After a timeout, a cancellation or a crash the sandbox is dead: every
// process in it has been killed and further runs fail with a
// *sandbox.CrashError. Create a new one (a sandbox.Pool does so).
type Sandbox struct {
	id    string
	p     *Provider
	child *child
	dirs  dirs
	iso   Isolation
	// stateless: every run is a clean slate (a child forked from a pristine
	// zygote, see worker.py), so Reset has nothing to do.
	stateless bool
	uid       int            // host uid (see WithHostUIDRange), released on teardown
	cg        *sandboxCgroup // the sandbox's cgroup, nil without cgroups

	// streams reads the worker's own pipes: everything of a session; of a
	// stateless sandbox, the zygote's events (its stdout and stderr carry
	// only its diagnostics, kept in zdiag).
	*streams
	zdiag *cappedBuffer
	// slots are the call slots sent to a stateless sandbox's zygote and
	// not yet used, oldest first (see slot.go); owned by the goroutine
	// running a command, and by teardown.
	slots  []*slot
	done   chan struct{} // closed by teardown: reader goroutines stop
	exited chan struct{} // closed when the init has exited
	exit   string        // how the init exited, set before exited is closed

	mu       sync.Mutex // serialises Run and Reset
	stateMu  sync.Mutex
	closed   bool
	dead     string              // why the sandbox is unusable, "" while alive
	limitErr *sandbox.LimitError // set with dead when the memory watch stopped it
	// running is true while a command is in progress: the memory watch
	// measures such a sandbox more often (see watchMemory).
	running  atomic.Bool
	once     sync.Once
	lifetime *time.Timer
}

var _ sandbox.Sandbox = (*Sandbox)(nil)

type chunk struct {
	stream int
	data   []byte
	eof    bool
}

// event is one JSON line from the init or the worker.
type event struct {
	T            string            `json:"t"`
	Nonce        string            `json:"nonce"`
	Count        int               `json:"count"`
	IsMainResult bool              `json:"is_main_result"`
	Text         string            `json:"text"`
	HTML         string            `json:"html"`
	Markdown     string            `json:"markdown"`
	SVG          string            `json:"svg"`
	PNG          string            `json:"png"`
	JPEG         string            `json:"jpeg"`
	PDF          string            `json:"pdf"`
	LaTeX        string            `json:"latex"`
	JavaScript   string            `json:"javascript"`
	JSON         json.RawMessage   `json:"json"`
	Name         string            `json:"name"`
	Value        string            `json:"value"`
	Traceback    string            `json:"traceback"`
	Active       []string          `json:"active"`
	Missing      map[string]string `json:"missing"`
	Fatal        string            `json:"fatal"`
	ID           int64             `json:"id"`   // "call": the call's number
	Args         json.RawMessage   `json:"args"` // "call": its arguments, as the code wrote them
	err          error             // for "eof": why the stream ended
}

// command is one request to the worker.
type command struct {
	Op    string // "run" or "reset"
	Code  string
	Env   map[string]string
	Nonce string
}

// encode frames the command: a header line with the op, the nonce and the
// byte lengths of the code and of the environment ("key\0value\0"...),
// then both. Environment entries with a NUL byte cannot exist and are
// dropped.
func (c command) encode() []byte {
	var env strings.Builder
	for _, k := range slices.Sorted(maps.Keys(c.Env)) {
		v := c.Env[k]
		if k == "" || strings.ContainsRune(k, 0) || strings.ContainsRune(k, '=') || strings.ContainsRune(v, 0) {
			continue
		}
		env.WriteString(k)
		env.WriteByte(0)
		env.WriteString(v)
		env.WriteByte(0)
	}
	nonce := c.Nonce
	if nonce == "" {
		nonce = "-" // a stateless call's: it has none
	}
	head := fmt.Sprintf("%s %s %d %d\n", c.Op, nonce, len(c.Code), env.Len())
	b := make([]byte, 0, len(head)+len(c.Code)+env.Len())
	return append(append(append(b, head...), c.Code...), env.String()...)
}

func startSandbox(ctx context.Context, p *Provider, opts sandbox.CreateOptions) (*Sandbox, error) {
	uid, err := p.allocUID()
	if err != nil {
		return nil, err
	}
	pl := p.plan
	pl.hostUID, pl.hostGID = uid, uid
	if !p.perUID {
		pl.hostGID = p.plan.hostGID
	}
	d, err := makeDirs(p.cfg.workRoot, pl.hostUID, pl.hostGID)
	if err != nil {
		p.releaseUID(uid)
		return nil, err
	}
	netns := p.plan.netns && !opts.AllowInternet
	home, tmp := "/work", "/tmp"
	if !p.plan.mount {
		home, tmp = d.work, d.tmp
	}
	envMap := map[string]string{
		"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": tmp, "LANG": "C.UTF-8",
		"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
		// matplotlib's figures become PNG results (see worker.py).
		"MPLBACKEND": "module://sandbox_display",
	}
	pip, err := pipEnvironment(envMap, opts.AllowInternet, home, d, p.plan.mount, p.interpreter)
	if err != nil {
		d.remove()
		p.releaseUID(uid)
		return nil, fmt.Errorf("local: pip set-up: %w", err)
	}
	maps.Copy(envMap, opts.Env)
	env := make([]string, 0, len(envMap))
	for _, k := range slices.Sorted(maps.Keys(envMap)) {
		env = append(env, k+"="+envMap[k])
	}
	cfg := initConfig(p.plan, d, netns, p.roBinds, env)
	if opts.AllowInternet {
		cfg.BlockInet, cfg.LandlockNet = false, false
	}
	pip.apply(&cfg)
	cfg.TmpBytes = p.cfg.tmpSize
	cfg.WorkBytes = p.cfg.workSize
	cfg.Interpreter = p.interpreter
	var clean []string
	if opts.Stateless {
		// The writable places: /work (also HOME), /tmp and /dev/shm. Without
		// a mount namespace /dev/shm is the host's and is left alone.
		clean = []string{"/work", "/tmp", "/dev/shm"}
		if !p.plan.mount {
			clean = []string{d.work, d.tmp}
		}
	}
	cfg.Args = p.workerArgs(clean)
	callNS, noCallNS := p.callNetNS(opts.Stateless, netns)
	if callNS {
		withCallNetNS(&cfg)
	}
	cfg.Shell = initShell()
	id := newID()
	cg, err := p.newCgroup(id)
	var c *child
	if err == nil {
		cfg.CgroupNS = cg != nil && pl.cloneflags&syscall.CLONE_NEWCGROUP != 0
		c, err = startChild(pl, cfg, netns, p.worker.code, opts.Stateless, cg)
	}
	if err != nil {
		cg.remove()
		d.remove()
		p.releaseUID(uid)
		return nil, fmt.Errorf("local: start sandbox: %w", err)
	}
	s := &Sandbox{
		id: id, p: p, child: c, cg: cg, dirs: d, stateless: opts.Stateless, uid: uid,
		done: make(chan struct{}), exited: make(chan struct{}),
	}
	maxLine := 8*p.cfg.maxOutput + 1<<20
	if opts.Stateless {
		s.streams = newStreams(nil, nil, c.events, maxLine, s.done)
		s.zdiag = &cappedBuffer{max: 8 << 10}
		go io.Copy(s.zdiag, c.stdout)
		go io.Copy(s.zdiag, c.stderr)
	} else {
		s.streams = newStreams(c.stdout, c.stderr, c.events, maxLine, s.done)
	}
	go s.wait()
	if opts.Stateless {
		// The slots of the first two calls: the zygote forks their
		// children as soon as it is ready.
		for range 2 {
			sl, err := sendSlot(c.cmdW)
			if err != nil {
				s.teardown()
				return nil, err
			}
			s.slots = append(s.slots, sl)
		}
	}
	if err := s.handshake(ctx, netns); err != nil {
		s.teardown()
		return nil, err
	}
	switch {
	case callNS:
		s.iso.Active = append(s.iso.Active, "netns_per_call")
	case opts.Stateless:
		if s.iso.Missing == nil {
			s.iso.Missing = map[string]string{}
		}
		s.iso.Missing["netns_per_call"] = noCallNS
	}
	if opts.Lifetime > 0 {
		s.lifetime = time.AfterFunc(opts.Lifetime, func() {
			s.markDead("lifetime of " + opts.Lifetime.String() + " exceeded")
			s.teardown()
		})
	}
	return s, nil
}

// handshake waits for the init's layer report and the worker's ready.
func (s *Sandbox) handshake(ctx context.Context, netns bool) error {
	timer := time.NewTimer(s.p.cfg.startTimeout)
	defer timer.Stop()
	for {
		select {
		case ev := <-s.ev:
			switch ev.T {
			case "init":
				if ev.Fatal != "" {
					return fmt.Errorf("local: sandbox init failed: %s", ev.Fatal)
				}
				s.iso = s.p.Isolation()
				if !netns {
					s.iso.Active = slices.DeleteFunc(s.iso.Active, func(l string) bool { return l == "netns" })
				}
			case "ready":
				return nil
			case "eof":
				<-s.exited
				return fmt.Errorf("local: sandbox worker did not start (%s): %s", s.exit, strings.TrimSpace(s.diagnostics()))
			}
		case <-timer.C:
			return fmt.Errorf("local: sandbox worker not ready after %s", s.p.cfg.startTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Sandbox) wait() {
	err := s.child.cmd.Wait()
	switch {
	case err == nil:
		s.exit = "exit status 0"
	default:
		s.exit = err.Error()
		var ee interface{ ExitCode() int }
		if errors.As(err, &ee) && ee.ExitCode() > 128 {
			s.exit = fmt.Sprintf("killed by %s", syscall.Signal(ee.ExitCode()-128))
		}
	}
	close(s.exited)
}

// ID returns the sandbox's id ("local-" and 12 hex digits).
func (s *Sandbox) ID() string { return s.id }

// Isolation returns the layers this sandbox runs under.
func (s *Sandbox) Isolation() Isolation { return s.iso }

// Run executes code as one cell and returns what it produced. See
// sandbox.Sandbox for the contract. Output is read at the file
// descriptor level (os.system and subprocess output included) and
// streamed to the callbacks of opts as it arrives; at most the provider's
// MaxOutputBytes are kept. On timeout (opts.Timeout, else the provider's
// default, or the ctx deadline) the worker is interrupted (SIGINT, so the
// partial execution carries a KeyboardInterrupt traceback), then the whole
// sandbox is killed, and Run returns the partial execution with a
// *recovery.TimeoutError (matching recovery.ErrTimeout and
// context.DeadlineExceeded); if ctx is cancelled it returns ctx.Err(). If
// the worker dies (os._exit, a fatal signal) Run returns a
// *sandbox.CrashError. Invalid UTF-8 in code is replaced by U+FFFD. If a
// callback of opts panics, the sandbox is killed (later runs fail with a
// *sandbox.CrashError) and the panic propagates to the caller of Run.
func (s *Sandbox) Run(ctx context.Context, code string, opts sandbox.RunOptions) (*sandbox.Execution, error) {
	if lang := strings.ToLower(strings.TrimSpace(opts.Language)); lang != "" && lang != sandbox.LanguagePython {
		return nil, &sandbox.UnsupportedLanguageError{Language: opts.Language, Supported: []string{sandbox.LanguagePython}}
	}
	if opts.Timeout < 0 {
		return nil, &recovery.InvalidInputError{Field: "timeout", Reason: "must not be negative"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	timeout := effectiveTimeout(ctx, opts.Timeout, s.p.cfg.timeout)
	returned := false
	defer func() {
		if !returned {
			// A streaming callback panicked in the middle of the run: the
			// worker's output is half read, so the sandbox cannot serve
			// another run. Kill it; the panic goes on.
			s.markDead("a streaming callback panicked during a run")
			s.teardown()
		}
	}()
	s.running.Store(true)
	defer s.running.Store(false)
	exec, err := s.roundTrip(ctx, command{Op: "run", Code: code, Env: opts.Env, Nonce: newNonce()}, &opts, timeout)
	returned = true
	return exec, err
}

// Reset discards the worker's variables and imports-by-name (a fresh
// __main__ namespace) and its execution counter, without restarting the
// process: it costs one round trip. Files in /work and processes started
// in the background are kept. On a stateless sandbox
// (CreateOptions.Stateless) every run already starts from a clean slate
// and Reset does nothing.
func (s *Sandbox) Reset(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if s.stateless {
		return nil // the worker already cleared everything after the last run
	}
	_, err := s.roundTrip(ctx, command{Op: "reset", Nonce: newNonce()}, &sandbox.RunOptions{}, effectiveTimeout(ctx, 0, 10*time.Second))
	return err
}

// Close kills every process of the sandbox and removes its directory. It
// is idempotent and safe to call concurrently with Run (which then
// returns sandbox.ErrClosed).
func (s *Sandbox) Close(ctx context.Context) error {
	s.stateMu.Lock()
	s.closed = true
	s.stateMu.Unlock()
	s.teardown()
	return nil
}

func (s *Sandbox) usable() error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if s.closed {
		return sandbox.ErrClosed
	}
	if s.dead != "" {
		return &sandbox.CrashError{SandboxID: s.id, Reason: "sandbox is dead: " + s.dead}
	}
	return nil
}

func (s *Sandbox) markDead(reason string) {
	s.stateMu.Lock()
	if s.dead == "" {
		s.dead = reason
	}
	s.stateMu.Unlock()
}

// roundTrip sends one command and collects everything until its end.
func (s *Sandbox) roundTrip(ctx context.Context, cmd command, opts *sandbox.RunOptions, timeout time.Duration) (*sandbox.Execution, error) {
	// A session's command goes to its worker and its output and events come
	// back on the worker's pipes, each stream ending at a marker carrying
	// the nonce. A stateless call's command goes into the slot sent for it
	// two calls ago, its output and events come back on the slot's pipes,
	// which end when its last process is gone, and its end is the zygote's
	// event: it needs no nonce.
	st, ctl, dst := s.streams, (<-chan event)(nil), s.child.cmdW
	if s.stateless {
		sl, err := s.nextSlot()
		if err != nil {
			return s.crashed(s.streams, newCollector("", s.p.cfg.maxOutput, opts), err.Error())
		}
		callDone := make(chan struct{})
		defer func() {
			close(callDone)
			sl.close()
		}()
		st = newStreams(sl.stdout, sl.stderr, sl.events, 8*s.p.cfg.maxOutput+1<<20, callDone)
		ctl, dst, cmd.Nonce = s.ev, sl.cmd, ""
	}
	col := newCollector(cmd.Nonce, s.p.cfg.maxOutput, opts)
	st.evFilter.Store(0)
	st.evSkipped.Store(0)
	payload := cmd.encode()
	writeErr := make(chan error, 1)
	go func() {
		_, err := dst.Write(payload)
		writeErr <- err
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	timerC, ctxDone := timer.C, ctx.Done()
	var grace, settle <-chan time.Time
	var stopErr error
	gotEnd := false
	evCh, evDone := st.ev, !s.stateless // a stateless call's events end with its event pipe
	var calls *hostCalls
	defer func() {
		if calls != nil {
			calls.stop() // before a stateless call's slot closes
		}
	}()
	interrupt := func(err error) {
		stopErr = err
		timerC, ctxDone = nil, nil
		s.child.cmd.Process.Signal(syscall.SIGINT) // the init forwards it to the worker
		grace = time.After(s.p.cfg.interruptGrace)
	}
	end := func(ev event) {
		gotEnd = true
		col.exec.ExecutionCount = ev.Count
		if s.stateless {
			settle = time.After(settleTime)
		}
	}
loop:
	for !(gotEnd && col.complete() && evDone) {
		select {
		case c := <-st.out:
			st.take(col, c)
		case ev := <-evCh:
			st.catchUp(col)
			switch ev.T {
			case "result":
				r := ev.result()
				if !col.addResult(r) {
					st.evFilter.Or(filterResults)
				} else if opts.OnResult != nil {
					opts.OnResult(r)
				}
			case "error":
				if col.exec.Error == nil {
					e := sandbox.ExecutionError{Name: ev.Name, Value: ev.Value, Traceback: ev.Traceback}
					col.exec.Error = &e
					st.evFilter.Or(filterErrors)
					if opts.OnError != nil {
						opts.OnError(e)
					}
				}
			case "call":
				if calls == nil {
					calls = startHostCalls(ctx, opts.OnHostCall, dst)
				}
				calls.add(ev)
			case "end":
				if !s.stateless && ev.Nonce == cmd.Nonce {
					end(ev)
				}
			case "eof":
				if s.stateless { // the call's event pipe ended, or the code wrote a malformed line
					evCh, evDone = nil, true
					break
				}
				if stopErr != nil {
					break loop
				}
				return s.crashed(st, col, fmt.Sprintf("worker connection lost: %v", ev.err))
			}
		case ev := <-ctl:
			switch ev.T {
			case "end":
				end(ev)
			case "eof":
				if stopErr != nil {
					break loop
				}
				return s.crashed(st, col, fmt.Sprintf("worker connection lost: %v", ev.err))
			}
		case <-settle:
			// Every process of the call is gone, yet one of its pipes has
			// not ended: its write end is held only by a descriptor in
			// flight in a unix socket no process holds, which the kernel
			// frees later. Nothing can write to it any more.
			st.catchUp(col)
			break loop
		case err := <-writeErr:
			writeErr = nil
			if err != nil && stopErr == nil {
				return s.crashed(st, col, fmt.Sprintf("cannot send to worker: %v", err))
			}
		case <-timerC:
			interrupt(&recovery.TimeoutError{Op: "code execution", After: timeout, Err: context.DeadlineExceeded})
		case <-ctxDone:
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				interrupt(&recovery.TimeoutError{Op: "code execution", After: timeout, Err: context.DeadlineExceeded})
			} else {
				interrupt(ctx.Err())
			}
		case <-grace:
			break loop
		case <-s.exited:
			if stopErr != nil {
				break loop
			}
			return s.crashed(st, col, "")
		}
	}
	if stopErr != nil {
		reason := "execution timed out"
		if !errors.Is(stopErr, recovery.ErrTimeout) {
			reason = "execution cancelled"
		}
		s.markDead(reason)
		s.teardown()
		s.finish(st, col)
		return col.exec, stopErr
	}
	s.finish(st, col)
	if calls != nil {
		c := calls
		calls = nil
		if p := c.stop(); p != nil {
			// OnHostCall panicked: the code got an error in its place,
			// and the panic reaches the caller as the module's other
			// goroutines report theirs.
			return col.exec, p
		}
	}
	if lim := s.memoryLimitError(); lim != nil {
		// A subprocess of the run was killed at the memory limit.
		s.teardown()
		return col.exec, lim
	}
	return col.exec, nil
}

// settleTime bounds how long a stateless call's pipes may stay open after
// its end (see roundTrip): far longer than the kernel takes when the
// call's processes are gone, short enough that a call which hid a write
// end in a unix socket only delays its own result.
const settleTime = 2 * time.Second

// nextSlot returns the slot of the call about to run and sends the slot
// of the call after the next, so the zygote finds it when this call ends
// and forks that call's child while the host reads this call's end.
func (s *Sandbox) nextSlot() (*slot, error) {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if len(s.slots) == 0 {
		return nil, errors.New("no call slot (the sandbox was torn down)")
	}
	next, err := sendSlot(s.child.cmdW)
	if err != nil {
		return nil, err
	}
	sl := s.slots[0]
	s.slots = append(s.slots[1:], next)
	return sl, nil
}

// finish completes col, counting the events st dropped unparsed as
// dropped results.
func (s *Sandbox) finish(st *streams, col *collector) {
	col.droppedResults += int(st.evSkipped.Swap(0))
	col.finish()
}

// crashed handles a worker that died during a command: it collects the
// output still in the pipes, tears the sandbox down and reports why.
func (s *Sandbox) crashed(st *streams, col *collector, reason string) (*sandbox.Execution, error) {
	select {
	case <-s.exited:
	case <-time.After(time.Second):
		s.kill()
		<-s.exited
	}
	eofs := 0
	drain := time.After(200 * time.Millisecond)
	for eofs < 2 {
		select {
		case c := <-st.out:
			if c.eof {
				eofs++
			}
			st.take(col, c)
		case <-drain:
			eofs = 2
		}
	}
	s.finish(st, col)
	s.memoryLimitError() // a process killed at the cgroup's memory limit
	s.stateMu.Lock()
	closed, dead, limitErr := s.closed, s.dead, s.limitErr
	s.stateMu.Unlock()
	if reason == "" {
		reason = "worker exited: " + s.exit
	} else {
		reason += " (" + s.exit + ")"
	}
	if d := strings.TrimSpace(s.diagnostics()); d != "" {
		reason += ": " + d
	}
	if dead != "" {
		reason = dead
	}
	s.markDead(reason)
	s.teardown()
	if closed {
		return col.exec, sandbox.ErrClosed
	}
	if limitErr != nil {
		return col.exec, limitErr
	}
	return col.exec, &sandbox.CrashError{SandboxID: s.id, Reason: reason}
}

// diagnostics returns what the init and, for a stateless sandbox, the
// zygote wrote about why they stopped.
func (s *Sandbox) diagnostics() string {
	d := s.child.diag.String()
	if s.zdiag != nil {
		d += s.zdiag.String()
	}
	return d
}

// kill sends SIGKILL to the init (its death kills every process in the
// pid namespace) and to its process group.
func (s *Sandbox) kill() {
	pid := s.child.cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGKILL)
	syscall.Kill(pid, syscall.SIGKILL)
}

// teardown kills the sandbox, waits for its init, stops the readers and
// removes its directory. It runs once.
func (s *Sandbox) teardown() {
	s.once.Do(func() {
		if s.lifetime != nil {
			s.lifetime.Stop()
		}
		s.kill()
		exited := false
		select {
		case <-s.exited:
			exited = true
		case <-time.After(5 * time.Second):
		}
		close(s.done)
		if exited {
			// The init is gone, and with it every process of its pid
			// namespace: the uid may serve another sandbox.
			s.p.releaseUID(s.uid)
		}
		s.child.closeHostEnds()
		s.stateMu.Lock()
		for _, sl := range s.slots {
			sl.close()
		}
		s.slots = nil
		s.stateMu.Unlock()
		if err := s.cg.remove(); err != nil {
			s.p.cfg.logger.Warn("local sandbox: cannot remove cgroup", "sandbox_id", s.id, "error", err)
		}
		if err := s.dirs.remove(); err != nil {
			s.p.cfg.logger.Warn("local sandbox: cannot remove directory", "sandbox_id", s.id, "error", err)
		}
		s.p.forget(s)
	})
}

// initShell returns the shell that runs as the sandbox's process 1, or ""
// when /bin/sh is missing (the interpreter is then process 1).
func initShell() string {
	if fi, err := os.Stat("/bin/sh"); err == nil && !fi.IsDir() {
		return "/bin/sh"
	}
	return ""
}

func (ev *event) result() sandbox.Result {
	r := sandbox.Result{
		IsMainResult: ev.IsMainResult, Text: ev.Text, HTML: ev.HTML, Markdown: ev.Markdown,
		SVG: ev.SVG, PNG: ev.PNG, JPEG: ev.JPEG, PDF: ev.PDF, LaTeX: ev.LaTeX, JavaScript: ev.JavaScript,
	}
	if len(ev.JSON) > 0 && string(ev.JSON) != "null" {
		r.JSON = ev.JSON
	}
	return r
}
