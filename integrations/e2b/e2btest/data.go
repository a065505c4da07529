package e2btest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ttadev/primitives/sandbox"
)

// kernel is one code interpreter context. Its code runs on a sandbox of
// the server's provider, started on the context's first execution (the
// default python and javascript contexts exist from the sandbox's start,
// as on E2B's server, without costing a sandbox until used).
type kernel struct {
	id       string
	language string

	// mu serialises executions and restarts, as the code interpreter
	// does with its per-context lock; it guards every field below.
	mu    sync.Mutex
	home  string // the backing sandbox's initial working directory
	count int
	// env is what the code interpreter loaded from envd's GET /envs on
	// the context's first execution or after a restart; nil until then.
	env map[string]string
	// abortNext makes the next execution hang with keepalives only: the
	// previous client went away mid-run, the server interrupted the
	// kernel but released the context first, and the kernel aborts the
	// next request without the server noticing.
	abortNext bool

	owner *fakeSandbox
	// boxMu guards sb, which a shutdown closes without waiting for a
	// running execution.
	boxMu sync.Mutex
	sb    sandbox.Sandbox
}

// contextInfo is the JSON of a context.
type contextInfo struct {
	ID       string `json:"id"`
	Language string `json:"language"`
	Cwd      string `json:"cwd"`
}

// shutdown closes every kernel of the sandbox and stops its timer.
func (sb *fakeSandbox) shutdown() {
	sb.mu.Lock()
	sb.down = true
	if sb.timer != nil {
		sb.timer.Stop()
	}
	ks := make([]*kernel, 0, len(sb.contexts))
	for _, k := range sb.contexts {
		ks = append(ks, k)
	}
	sb.contexts = map[string]*kernel{}
	sb.mu.Unlock()
	ctx, cancel := detached()
	defer cancel()
	for _, k := range ks {
		k.close(ctx)
	}
}

// close closes the kernel's backing sandbox, waiting for a running
// execution only briefly: a shutdown must not hang on a stuck run.
func (k *kernel) close(ctx context.Context) {
	k.boxMu.Lock()
	box := k.sb
	k.sb = nil
	k.boxMu.Unlock()
	if box != nil {
		_ = box.Close(ctx)
	}
}

// codeInterpreterTemplate reports whether a template runs the code
// interpreter: E2B's "base" does not.
func codeInterpreterTemplate(t string) bool { return t != "base" }

// jsonBody reports whether a request may be read as JSON: FastAPI answers
// 422 only when a Content-Type is present and is not JSON.
func jsonBody(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func write422(w http.ResponseWriter, typ, msg string, loc ...any) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{
		{"type": typ, "loc": append([]any{"body"}, loc...), "msg": msg}}})
}

func (s *Server) serveData(w http.ResponseWriter, r *http.Request, id string) {
	path := r.URL.Path
	op := OpContext
	if path == "/execute" {
		op = OpExecute
	} else if path == "/health" {
		op = OpAny
	}
	sb := s.lookup(id)
	if sb != nil && op == OpExecute {
		s.mu.Lock()
		s.stats.Executes++
		s.mu.Unlock()
	}
	var f *Fault
	if sb != nil {
		f = s.takeFault(op)
		if applyFault(w, f, id) {
			return
		}
	}
	if sb == nil || sb.isPaused() {
		applyFault(w, &Fault{Kind: SandboxNotFound}, id)
		return
	}
	port := r.Header.Get("E2b-Sandbox-Port")
	if port != "49999" || !codeInterpreterTemplate(sb.template) || time.Since(sb.startedAt) < s.startupDelay {
		p, _ := strconv.Atoi(port)
		writeJSON(w, http.StatusBadGateway, map[string]any{"sandboxId": id,
			"message": "The sandbox is running but port is not open", "port": p, "code": 502})
		return
	}
	// The code interpreter checks no access token: it passes the one it
	// was given to envd when it loads the sandbox's environment (see
	// loadEnv).
	switch {
	case path == "/health" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, "OK")
	case path == "/execute" && r.Method == http.MethodPost:
		s.execute(w, r, sb, f)
	case path == "/contexts" && r.Method == http.MethodPost:
		if !jsonBody(r) {
			write422(w, "model_attributes_type", "Input should be a valid dictionary or object to extract fields from")
			return
		}
		var req struct {
			Language string `json:"language"`
			Cwd      string `json:"cwd"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			write422(w, "json_invalid", "JSON decode error")
			return
		}
		k, ci, err := sb.newKernel(normalizeLanguage(req.Language), req.Cwd)
		if err != nil {
			writeText(w, http.StatusInternalServerError, err.Error())
			return
		}
		_ = k
		writeJSON(w, http.StatusOK, ci)
	case path == "/contexts" && r.Method == http.MethodGet:
		sb.mu.Lock()
		out := make([]contextInfo, 0, len(sb.order))
		for _, cid := range sb.order {
			if k := sb.contexts[cid]; k != nil {
				out = append(out, contextInfo{ID: k.id, Language: k.language, Cwd: sb.cwd[cid]})
			}
		}
		sb.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	case strings.HasPrefix(path, "/contexts/"):
		cid, action, _ := strings.Cut(strings.TrimPrefix(path, "/contexts/"), "/")
		sb.mu.Lock()
		k := sb.contexts[cid]
		if k != nil && r.Method == http.MethodDelete && action == "" {
			sb.removeLocked(cid)
		}
		sb.mu.Unlock()
		if k == nil {
			writeText(w, http.StatusNotFound, "Context "+cid+" not found")
			return
		}
		switch {
		case r.Method == http.MethodPost && action == "restart":
			k.mu.Lock()
			err := k.restart(r.Context())
			k.mu.Unlock()
			if err != nil {
				writeText(w, http.StatusInternalServerError, "restart failed: "+err.Error())
				return
			}
			sb.mu.Lock()
			if _, ok := sb.cwd[cid]; ok {
				sb.cwd[cid] = "/home/user"
			}
			sb.mu.Unlock()
			writeJSON(w, http.StatusOK, nil)
		case r.Method == http.MethodDelete && action == "":
			ctx, cancel := detached()
			defer cancel()
			k.close(ctx)
			writeJSON(w, http.StatusOK, nil)
		default:
			writeText(w, http.StatusNotFound, "Not Found")
		}
	default:
		writeText(w, http.StatusNotFound, "Not Found")
	}
}

func (sb *fakeSandbox) isPaused() bool {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return sb.paused
}

// removeLocked forgets a context.
func (sb *fakeSandbox) removeLocked(cid string) {
	delete(sb.contexts, cid)
	delete(sb.cwd, cid)
	for l, d := range sb.deflt {
		if d == cid {
			delete(sb.deflt, l)
		}
	}
}

// normalizeLanguage does what the code interpreter does: lower-case,
// trimmed, js and ts expanded, empty meaning python. "python3" is not an
// alias: it is a kernel of its own.
func normalizeLanguage(l string) string {
	l = strings.ToLower(strings.TrimSpace(l))
	switch l {
	case "":
		return "python"
	case "js":
		return "javascript"
	case "ts":
		return "typescript"
	}
	return l
}

// kernelAvailable reports the languages this fake has a kernel for.
// "python3" is Jupyter's name of the Python kernel; javascript contexts
// exist (E2B's server starts one) but run no code here.
func kernelAvailable(language string) bool {
	switch language {
	case "python", "python3", "javascript":
		return true
	}
	return false
}

// newKernel registers a context; its backing sandbox starts on first use.
// An unknown language fails as on E2B's server, where Jupyter has no such
// kernel.
func (sb *fakeSandbox) newKernel(language, cwd string) (*kernel, contextInfo, error) {
	if !kernelAvailable(language) {
		return nil, contextInfo{}, fmt.Errorf("Failed to create context: {'code': 404, 'message': 'No such kernel named %s', 'reason': 'kernel is not available'}", language)
	}
	if cwd == "" {
		cwd = "/home/user"
	}
	k := &kernel{id: newContextID(), language: language, owner: sb}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.down {
		return nil, contextInfo{}, fmt.Errorf("Failed to create context: the sandbox is shutting down")
	}
	sb.contexts[k.id] = k
	sb.cwd[k.id] = cwd
	sb.order = append(sb.order, k.id)
	return k, contextInfo{ID: k.id, Language: language, Cwd: cwd}, nil
}

// startDefaultKernels creates the default python and javascript
// contexts, present from start-up on E2B's server.
func (sb *fakeSandbox) startDefaultKernels() {
	for _, l := range []string{"python", "javascript"} {
		if k, _, err := sb.newKernel(l, ""); err == nil {
			sb.mu.Lock()
			sb.deflt[l] = k.id
			sb.mu.Unlock()
		}
	}
}

func newContextID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// defaultKernel returns the default context of language, creating it on
// first use (the defaults removed by DELETE come back this way).
func (sb *fakeSandbox) defaultKernel(language string) (*kernel, error) {
	sb.mu.Lock()
	if id, ok := sb.deflt[language]; ok {
		if k := sb.contexts[id]; k != nil {
			sb.mu.Unlock()
			return k, nil
		}
	}
	sb.mu.Unlock()
	k, _, err := sb.newKernel(language, "")
	if err != nil {
		return nil, err
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if id, ok := sb.deflt[language]; ok && sb.contexts[id] != nil {
		// Another request made it first; keep theirs.
		sb.removeLocked(k.id)
		return sb.contexts[id], nil
	}
	sb.deflt[language] = k.id
	return k, nil
}

// backing returns the kernel's sandbox, starting it on first use. Called
// with k.mu held.
func (k *kernel) backing(ctx context.Context, p sandbox.Provider) (sandbox.Sandbox, error) {
	k.boxMu.Lock()
	box := k.sb
	k.boxMu.Unlock()
	if box != nil {
		return box, nil
	}
	sb := k.owner
	box, err := p.Create(ctx, sandbox.CreateOptions{Template: sb.template, AllowInternet: sb.internet})
	if err != nil {
		return nil, err
	}
	// Its initial working directory, read without leaving a name in the
	// namespace, so that a restart can go back to it.
	exec, err := box.Run(ctx, "print(__import__('os').getcwd())", sandbox.RunOptions{Timeout: 30 * time.Second})
	if err != nil || exec.Error != nil {
		cctx, cancel := detached()
		defer cancel()
		_ = box.Close(cctx)
		if err == nil {
			err = fmt.Errorf("reading the working directory: %s", exec.Error.Value)
		}
		return nil, err
	}
	if err := box.Reset(ctx); err != nil {
		return nil, err
	}
	k.home = strings.TrimSpace(exec.StdoutText())
	sb.mu.Lock()
	down := sb.down || sb.contexts[k.id] == nil
	sb.mu.Unlock()
	k.boxMu.Lock()
	if !down {
		k.sb = box
	}
	k.boxMu.Unlock()
	if down {
		cctx, cancel := detached()
		defer cancel()
		_ = box.Close(cctx)
		return nil, sandbox.ErrClosed
	}
	return box, nil
}

// restart discards the kernel's state as a Jupyter restart does:
// variables and imports gone, execution count and working directory back
// to their start, the environment loaded again on the next execution.
// Files and the sandbox's other processes stay. Called with k.mu held.
func (k *kernel) restart(ctx context.Context) error {
	k.count = 0
	k.env = nil
	k.abortNext = false
	k.boxMu.Lock()
	box := k.sb
	k.boxMu.Unlock()
	if box == nil {
		return nil
	}
	if err := box.Reset(ctx); err != nil {
		// The kernel is dead (a backing sandbox does not survive a
		// cancelled run): start a new one on the next execution.
		cctx, cancel := detached()
		defer cancel()
		k.close(cctx)
		return nil
	}
	if k.home == "" {
		return nil
	}
	exec, err := box.Run(ctx, "__import__('os').chdir("+strconv.Quote(k.home)+")", sandbox.RunOptions{Timeout: 30 * time.Second})
	if err == nil && exec.Error != nil {
		err = fmt.Errorf("%s: %s", exec.Error.Name, exec.Error.Value)
	}
	return err
}

// loadEnv does what the code interpreter does on a context's first
// execution and after a restart: it asks envd (GET /envs) for the
// sandbox's environment variables, passing on the access token it was
// given. On a secure sandbox without the right token, envd's 401 body is
// what gets loaded. Called with k.mu held.
func (k *kernel) loadEnv(token string) {
	if k.env != nil {
		return
	}
	sb := k.owner
	if sb.accessToken != "" && token != sb.accessToken {
		k.env = map[string]string{"code": "401", "message": "unauthorized access, please provide a valid access token or method signing if supported"}
		return
	}
	k.env = make(map[string]string, len(sb.envVars))
	for key, v := range sb.envVars {
		k.env[key] = v
	}
}

// execute serves POST /execute.
func (s *Server) execute(w http.ResponseWriter, r *http.Request, sb *fakeSandbox, f *Fault) {
	if !jsonBody(r) {
		write422(w, "model_attributes_type", "Input should be a valid dictionary or object to extract fields from")
		return
	}
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		write422(w, "json_invalid", "JSON decode error")
		return
	}
	var code string
	c, ok := raw["code"]
	if !ok {
		write422(w, "missing", "Field required", "code")
		return
	}
	// null is not a string either: the service answers 422 for it too.
	if string(bytes.TrimSpace(c)) == "null" || json.Unmarshal(c, &code) != nil {
		write422(w, "string_type", "Input should be a valid string", "code")
		return
	}
	var contextID, language *string
	var env map[string]string
	for key, dst := range map[string]any{"context_id": &contextID, "language": &language, "env_vars": &env} {
		if v, ok := raw[key]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				write422(w, "type_error", "invalid value", key)
				return
			}
		}
	}
	if contextID != nil && language != nil {
		writeText(w, http.StatusBadRequest, "Only one of context_id or language can be provided")
		return
	}
	var k *kernel
	if contextID != nil {
		sb.mu.Lock()
		k = sb.contexts[*contextID]
		sb.mu.Unlock()
		if k == nil {
			writeText(w, http.StatusNotFound, "Context "+*contextID+" not found")
			return
		}
	} else {
		lang := ""
		if language != nil {
			lang = *language
		}
		lang = normalizeLanguage(lang)
		var err error
		if k, err = sb.defaultKernel(lang); err != nil {
			writeText(w, http.StatusInternalServerError, err.Error())
			return
		}
	}
	st := newStream(w)
	defer st.stop()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// One execution per context at a time, and no keepalive while an
	// execution waits for the context's lock.
	k.mu.Lock()
	defer k.mu.Unlock()
	st.startKeepalive(s.keepalive)
	if k.abortNext {
		// The kernel aborts this request and the server misses it: only
		// keepalives until the client gives up.
		k.abortNext = false
		<-r.Context().Done()
		return
	}
	if f != nil {
		switch f.Kind {
		case KeepaliveOnly:
			<-r.Context().Done()
			return
		case SlowStart:
			t := time.NewTimer(f.Delay)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		case MalformedLine:
			st.writeRaw([]byte("this is not JSON\n"))
		case SyntheticError:
			s.synthetic(ctx, st, k, f.ErrorName)
			return
		case CutStream:
			st.cutAfterLines(max(f.AfterLines, 1), cancel)
		}
	}
	s.run(ctx, st, k, code, env, r.Header.Get("X-Access-Token"))
	if r.Context().Err() != nil {
		// The client went away mid-run: the server interrupts the
		// kernel but releases the context before the interrupt lands.
		k.abortNext = true
	}
}

// synthetic ends an execution the way the code interpreter does when it
// loses the kernel, each error followed by end_of_execution. The
// context's state is gone afterwards. Called with k.mu held.
func (s *Server) synthetic(ctx context.Context, st *stream, k *kernel, name string) {
	lines := []map[string]any{}
	switch name {
	case "", "ContextRestarting":
		lines = append(lines, errorLine("ContextRestarting", "Context was restarted"))
	case "WebSocketError":
		lines = append(lines, errorLine("WebSocketError", "Failed to send execution request: the WebSocket connection to the kernel was closed"),
			errorLine("UnexpectedEndOfExecution", "Traceback: the execution ended unexpectedly"))
	default:
		lines = append(lines, errorLine(name, "the execution was aborted"))
	}
	for _, l := range lines {
		st.write(l)
	}
	if name != "ExecutionAborted" {
		_ = k.restart(ctx)
		k.count = 0
	}
	st.write(map[string]any{"type": "end_of_execution"})
}

func errorLine(name, value string) map[string]any {
	return map[string]any{"type": "error", "name": name, "value": value, "traceback": ""}
}

// run executes code on k and streams its output. Called with k.mu held.
func (s *Server) run(ctx context.Context, st *stream, k *kernel, code string, runEnv map[string]string, token string) {
	if k.language == "javascript" {
		k.count++
		st.write(map[string]any{"type": "number_of_executions", "execution_count": k.count})
		st.write(errorLine("NotImplementedError", "this fake server runs Python only"))
		st.write(map[string]any{"type": "end_of_execution"})
		return
	}
	box, err := k.backing(ctx, s.provider)
	if err != nil {
		if ctx.Err() == nil {
			// The server answers 200 and reports the failure in the stream.
			st.write(errorLine("ContextRestarting", "Context was restarted"))
			st.write(map[string]any{"type": "end_of_execution"})
		}
		return
	}
	k.loadEnv(token)
	for key, v := range runEnv {
		// E2B's server writes os.environ['key'] = 'value' into Python
		// source as is.
		if strings.ContainsAny(key+v, "'\n\r") {
			st.write(map[string]any{"type": "error", "name": "SyntaxError", "value": "unterminated string literal (detected at line 1) (<unknown>, line 1)", "traceback": ""})
			st.write(map[string]any{"type": "end_of_execution"})
			return
		}
	}
	k.count++
	st.write(map[string]any{"type": "number_of_executions", "execution_count": k.count})
	env := make(map[string]string, len(k.env)+len(runEnv))
	for key, v := range k.env {
		env[key] = v
	}
	for key, v := range runEnv {
		env[key] = v
	}
	var nOut, nErr int
	opts := sandbox.RunOptions{
		Timeout: time.Hour,
		Env:     env,
		OnStdout: func(m sandbox.OutputMessage) {
			nOut++
			st.write(outputLine("stdout", m))
		},
		OnStderr: func(m sandbox.OutputMessage) {
			nErr++
			st.write(outputLine("stderr", m))
		},
	}
	exec, err := box.Run(ctx, code, opts)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		// The kernel died: the code interpreter restarts the context and
		// says so.
		st.write(errorLine("ContextRestarting", "Context was restarted"))
		cctx, cancel := detached()
		defer cancel()
		k.close(cctx)
		k.count, k.env = 0, nil
		st.write(map[string]any{"type": "end_of_execution"})
		return
	}
	for _, m := range exec.Stdout[min(nOut, len(exec.Stdout)):] {
		st.write(outputLine("stdout", m))
	}
	for _, m := range exec.Stderr[min(nErr, len(exec.Stderr)):] {
		st.write(outputLine("stderr", m))
	}
	for _, r := range exec.Results {
		st.write(resultLine(r))
	}
	if e := exec.Error; e != nil {
		st.write(map[string]any{"type": "error", "name": e.Name, "value": e.Value, "traceback": e.Traceback})
	}
	st.write(map[string]any{"type": "end_of_execution"})
}

// pythonTime formats t as Python's datetime.isoformat() does for an
// aware UTC time: microseconds (omitted when zero) and "+00:00".
func pythonTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05-07:00")
	}
	return t.Format("2006-01-02T15:04:05.000000-07:00")
}

func outputLine(kind string, m sandbox.OutputMessage) map[string]any {
	ts := m.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	return map[string]any{"type": kind, "text": m.Text, "timestamp": pythonTime(ts)}
}

// resultText is the text of a result as E2B's server sends it: a str
// value comes without the quotes of its repr.
func resultText(r sandbox.Result) string {
	if r.IsMainResult {
		if s, ok := unquotePython(r.Text); ok {
			return s
		}
	}
	return r.Text
}

// unquotePython reads a Python str repr ('abc', "it's"); ok is false for
// anything else.
func unquotePython(s string) (string, bool) {
	if len(s) < 2 || (s[0] != '\'' && s[0] != '"') || s[len(s)-1] != s[0] {
		return "", false
	}
	q := s[0]
	body := s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(body); {
		c := body[i]
		if c == q {
			return "", false // an unescaped quote: not one literal
		}
		if c != '\\' {
			_, size := utf8.DecodeRuneInString(body[i:])
			b.WriteString(body[i : i+size])
			i += size
			continue
		}
		if i+1 >= len(body) {
			return "", false
		}
		e := body[i+1]
		switch e {
		case '\\', '\'', '"':
			b.WriteByte(e)
			i += 2
		case 'n':
			b.WriteByte('\n')
			i += 2
		case 't':
			b.WriteByte('\t')
			i += 2
		case 'r':
			b.WriteByte('\r')
			i += 2
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+2+n > len(body) {
				return "", false
			}
			v, err := strconv.ParseUint(body[i+2:i+2+n], 16, 32)
			if err != nil {
				return "", false
			}
			b.WriteRune(rune(v))
			i += 2 + n
		default:
			return "", false
		}
	}
	return b.String(), true
}

func resultLine(r sandbox.Result) map[string]any {
	line := map[string]any{"type": "result", "is_main_result": r.IsMainResult}
	for k, v := range map[string]string{"text": resultText(r), "html": r.HTML, "markdown": r.Markdown, "svg": r.SVG,
		"png": r.PNG, "jpeg": r.JPEG, "pdf": r.PDF, "latex": r.LaTeX, "javascript": r.JavaScript} {
		if v != "" {
			line[k] = v
		}
	}
	for k, v := range map[string]json.RawMessage{"json": r.JSON, "data": r.Data, "chart": r.Chart, "extra": r.Extra} {
		if len(v) > 0 {
			line[k] = v
		}
	}
	if _, ok := line["extra"]; !ok {
		line["extra"] = map[string]any{}
	}
	return line
}

// stream writes NDJSON lines and keepalives to a response, flushing each.
type stream struct {
	mu       sync.Mutex
	w        http.ResponseWriter
	rc       *http.ResponseController
	lines    int
	cutAfter int
	cut      context.CancelFunc // stops the run once the stream is cut
	done     chan struct{}
	wg       sync.WaitGroup
}

var keepaliveLine = []byte("{\"type\": \"keepalive\"}\n")

// newStream sends the 200 headers. E2B's server sends the stream without
// a Content-Type; net/http would sniff one, so it is suppressed.
func newStream(w http.ResponseWriter) *stream {
	w.Header()["Content-Type"] = nil
	w.WriteHeader(http.StatusOK)
	st := &stream{w: w, rc: http.NewResponseController(w), done: make(chan struct{})}
	_ = st.rc.Flush()
	return st
}

// startKeepalive sends a keepalive line every interval until stop.
func (st *stream) startKeepalive(every time.Duration) {
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-st.done:
				return
			case <-t.C:
				st.writeRaw(keepaliveLine)
			}
		}
	}()
}

// cutAfterLines arms a cut: once n lines went out, the connection is
// dropped and stop is called. The keepalive goroutine is already writing,
// so this takes the lock.
func (st *stream) cutAfterLines(n int, stop context.CancelFunc) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.cutAfter, st.cut = n, stop
	if st.lines >= n {
		stop()
	}
}

func (st *stream) write(v map[string]any) {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	st.writeRaw(b.Bytes())
}

// writeRaw writes one line; with a cut pending, the connection is dropped
// once enough lines went out.
func (st *stream) writeRaw(line []byte) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cutAfter > 0 && st.lines >= st.cutAfter {
		return
	}
	_, _ = st.w.Write(line)
	_ = st.rc.Flush()
	st.lines++
	if st.cutAfter > 0 && st.lines >= st.cutAfter && st.cut != nil {
		st.cut()
	}
}

func (st *stream) stop() {
	close(st.done)
	st.wg.Wait()
	st.mu.Lock()
	cut := st.cutAfter > 0
	st.mu.Unlock()
	if cut {
		// Drop the connection without finishing the chunked body.
		panic(http.ErrAbortHandler)
	}
}
