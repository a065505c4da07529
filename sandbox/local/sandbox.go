//go:build linux

package local

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

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
	uid       int // host uid (see WithHostUIDRange), released on teardown

	outCh chan chunk
	evCh  chan event
	// evFilter tells the event reader which lines of the current run need
	// no parsing because their budget is spent (filterResults,
	// filterErrors); evSkipped counts the lines it dropped unparsed and
	// evParsed those it parsed.
	evFilter  atomic.Uint32
	evSkipped atomic.Int64
	evParsed  atomic.Int64
	// read counts the bytes each stream's reader has taken from its pipe;
	// taken, owned by the goroutine running a command, those it has
	// received from outCh (see catchUp).
	read   [2]atomic.Int64
	taken  [2]int64
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
	head := fmt.Sprintf("%s %s %d %d\n", c.Op, c.Nonce, len(c.Code), env.Len())
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
	cfg.Shell = initShell()
	c, err := startChild(pl, cfg, netns, p.worker.code)
	if err != nil {
		d.remove()
		p.releaseUID(uid)
		return nil, fmt.Errorf("local: start sandbox: %w", err)
	}
	s := &Sandbox{
		id: newID(), p: p, child: c, dirs: d, stateless: opts.Stateless, uid: uid,
		outCh: make(chan chunk, 64), evCh: make(chan event, 16),
		done: make(chan struct{}), exited: make(chan struct{}),
	}
	go s.readStream(c.stdout, streamStdout)
	go s.readStream(c.stderr, streamStderr)
	go s.readEvents(c.events)
	go s.wait()
	if err := s.handshake(ctx, netns); err != nil {
		s.teardown()
		return nil, err
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
		case ev := <-s.evCh:
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
				return fmt.Errorf("local: sandbox worker did not start (%s): %s", s.exit, strings.TrimSpace(s.child.diag.String()))
			}
		case <-timer.C:
			return fmt.Errorf("local: sandbox worker not ready after %s", s.p.cfg.startTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Sandbox) readStream(f *os.File, stream int) {
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			s.read[stream].Add(int64(n))
			select {
			case s.outCh <- chunk{stream: stream, data: slices.Clone(buf[:n])}:
			case <-s.done:
				return
			}
		}
		if err != nil {
			select {
			case s.outCh <- chunk{stream: stream, eof: true}:
			case <-s.done:
			}
			return
		}
	}
}

var errLineTooLong = errors.New("protocol line too long")

func (s *Sandbox) readEvents(f *os.File) {
	r := bufio.NewReaderSize(f, 64<<10)
	limit := 8*s.p.cfg.maxOutput + 1<<20
	send := func(ev event) bool {
		select {
		case s.evCh <- ev:
			return true
		case <-s.done:
			return false
		}
	}
	for {
		line, err := readLine(r, limit)
		if err != nil {
			send(event{T: "eof", err: err})
			return
		}
		if f := s.evFilter.Load(); f != 0 && skipEvent(line, f) {
			s.evSkipped.Add(1)
			continue
		}
		s.evParsed.Add(1)
		var ev event
		if err := json.Unmarshal(line, &ev); err != nil {
			send(event{T: "eof", err: fmt.Errorf("bad protocol line: %w", err)})
			return
		}
		if !send(ev) {
			return
		}
	}
}

const (
	filterResults = 1 << iota // the run's result budget is spent
	filterErrors              // the run's error is already kept
)

var (
	endPrefix   = []byte(`{"t":"end"`)
	errorPrefix = []byte(`{"t":"error"`)
)

// skipEvent reports whether line can be dropped without parsing under
// filter: once the result budget is spent only the end of the run and (if
// none was kept yet) its error are parsed, whatever else the code writes;
// once an error is kept, later errors are not parsed. The worker writes
// the "t" key first; a line that does not start like the worker's own is
// the code's and is dropped too.
func skipEvent(line []byte, filter uint32) bool {
	if bytes.HasPrefix(line, endPrefix) {
		return false
	}
	isError := bytes.HasPrefix(line, errorPrefix)
	if filter&filterResults != 0 {
		return !isError || filter&filterErrors != 0
	}
	return isError
}

func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		part, err := r.ReadSlice('\n')
		if len(line)+len(part) > limit {
			return nil, errLineTooLong
		}
		if err == nil && line == nil {
			return part, nil
		}
		line = append(line, part...)
		if err == nil {
			return line, nil
		}
		if err != bufio.ErrBufferFull {
			return nil, err
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
	col := newCollector(cmd.Nonce, s.p.cfg.maxOutput, opts)
	s.evFilter.Store(0)
	s.evSkipped.Store(0)
	payload := cmd.encode()
	writeErr := make(chan error, 1)
	go func() {
		_, err := s.child.cmdW.Write(payload)
		writeErr <- err
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	timerC, ctxDone := timer.C, ctx.Done()
	var grace <-chan time.Time
	var stopErr error
	gotEnd := false
	interrupt := func(err error) {
		stopErr = err
		timerC, ctxDone = nil, nil
		s.child.cmd.Process.Signal(syscall.SIGINT) // the init forwards it to the worker
		grace = time.After(s.p.cfg.interruptGrace)
	}
loop:
	for !(gotEnd && col.complete()) {
		select {
		case c := <-s.outCh:
			s.take(col, c)
		case ev := <-s.evCh:
			s.catchUp(col)
			switch ev.T {
			case "result":
				r := ev.result()
				if !col.addResult(r) {
					s.evFilter.Or(filterResults)
				} else if opts.OnResult != nil {
					opts.OnResult(r)
				}
			case "error":
				if col.exec.Error == nil {
					e := sandbox.ExecutionError{Name: ev.Name, Value: ev.Value, Traceback: ev.Traceback}
					col.exec.Error = &e
					s.evFilter.Or(filterErrors)
					if opts.OnError != nil {
						opts.OnError(e)
					}
				}
			case "end":
				if ev.Nonce == cmd.Nonce {
					gotEnd = true
					col.exec.ExecutionCount = ev.Count
				}
			case "eof":
				if stopErr != nil {
					break loop
				}
				return s.crashed(col, fmt.Sprintf("worker connection lost: %v", ev.err))
			}
		case err := <-writeErr:
			writeErr = nil
			if err != nil && stopErr == nil {
				return s.crashed(col, fmt.Sprintf("cannot send to worker: %v", err))
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
			return s.crashed(col, "")
		}
	}
	if stopErr != nil {
		reason := "execution timed out"
		if !errors.Is(stopErr, recovery.ErrTimeout) {
			reason = "execution cancelled"
		}
		s.markDead(reason)
		s.teardown()
		s.finish(col)
		return col.exec, stopErr
	}
	s.finish(col)
	return col.exec, nil
}

// take passes a chunk read from a stream to col.
func (s *Sandbox) take(col *collector, c chunk) {
	if !c.eof {
		s.taken[c.stream] += int64(len(c.data))
		col.feed(c.stream, c.data)
	}
}

// catchUp passes on, before an event is handled, the output the worker
// wrote before the event: what is still in the pipes or in the readers'
// hands when the event arrives (waiting at most 50 ms for it), so the
// callbacks see a print before the result that follows it.
func (s *Sandbox) catchUp(col *collector) {
	var target [2]int64
	for i, f := range []*os.File{s.child.stdout, s.child.stderr} {
		target[i] = s.read[i].Load() + int64(pending(f))
	}
	var timeout <-chan time.Time
	for s.taken[0] < target[0] || s.taken[1] < target[1] {
		if timeout == nil {
			timeout = time.After(50 * time.Millisecond)
		}
		select {
		case c := <-s.outCh:
			s.take(col, c)
			if c.eof {
				return
			}
		case <-timeout:
			return
		}
	}
}

// pending returns the bytes waiting in the pipe f (FIONREAD, which is
// TIOCINQ).
func pending(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ) })
	return n
}

// finish completes col, counting the events dropped unparsed as dropped
// results.
func (s *Sandbox) finish(col *collector) {
	col.droppedResults += int(s.evSkipped.Swap(0))
	col.finish()
}

// crashed handles a worker that died during a command: it collects the
// output still in the pipes, tears the sandbox down and reports why.
func (s *Sandbox) crashed(col *collector, reason string) (*sandbox.Execution, error) {
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
		case c := <-s.outCh:
			if c.eof {
				eofs++
			}
			s.take(col, c)
		case <-drain:
			eofs = 2
		}
	}
	s.finish(col)
	s.stateMu.Lock()
	closed, dead, limitErr := s.closed, s.dead, s.limitErr
	s.stateMu.Unlock()
	if reason == "" {
		reason = "worker exited: " + s.exit
	} else {
		reason += " (" + s.exit + ")"
	}
	if d := strings.TrimSpace(s.child.diag.String()); d != "" {
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
