package e2btest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ttadev/primitives/sandbox"
)

// kernel is one code interpreter context, backed by a sandbox of the
// server's provider.
type kernel struct {
	id       string
	language string
	cwd      string

	mu    sync.Mutex // serialises executions, as the code interpreter does
	sb    sandbox.Sandbox
	count int
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
		_ = k.sb.Close(ctx)
	}
}

// codeInterpreterTemplate reports whether a template runs the code
// interpreter: E2B's "base" does not.
func codeInterpreterTemplate(t string) bool { return t != "base" }

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
	if port := r.Header.Get("E2b-Sandbox-Port"); port != "49999" || !codeInterpreterTemplate(sb.template) {
		p, _ := strconv.Atoi(port)
		writeJSON(w, http.StatusBadGateway, map[string]any{"sandboxId": id,
			"message": "The sandbox is running but port is not open", "port": p, "code": 502})
		return
	}
	if sb.accessToken != "" && r.Header.Get("X-Access-Token") != sb.accessToken {
		writeError(w, http.StatusUnauthorized, "unauthorized access, please provide a valid access token or method signing if supported")
		return
	}
	switch {
	case path == "/health" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, "OK")
	case path == "/execute" && r.Method == http.MethodPost:
		s.execute(w, r, sb, f)
	case path == "/contexts" && r.Method == http.MethodPost:
		var req struct {
			Language string `json:"language"`
			Cwd      string `json:"cwd"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{{"type": "json_invalid", "msg": err.Error()}}})
			return
		}
		k, err := s.newKernel(r.Context(), sb, req.Language, req.Cwd)
		if err != nil {
			writeText(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"id": k.id, "language": k.language, "cwd": k.cwd})
	case path == "/contexts" && r.Method == http.MethodGet:
		sb.mu.Lock()
		out := make([]map[string]string, 0, len(sb.order))
		for _, cid := range sb.order {
			if k := sb.contexts[cid]; k != nil {
				out = append(out, map[string]string{"id": k.id, "language": k.language, "cwd": k.cwd})
			}
		}
		sb.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	case strings.HasPrefix(path, "/contexts/"):
		cid, action, _ := strings.Cut(strings.TrimPrefix(path, "/contexts/"), "/")
		sb.mu.Lock()
		k := sb.contexts[cid]
		if k != nil && r.Method == http.MethodDelete && action == "" {
			delete(sb.contexts, cid)
			for l, d := range sb.deflt {
				if d == cid {
					delete(sb.deflt, l)
				}
			}
		}
		sb.mu.Unlock()
		if k == nil {
			writeText(w, http.StatusNotFound, "Context "+cid+" not found")
			return
		}
		switch {
		case r.Method == http.MethodPost && action == "restart":
			k.mu.Lock()
			err := k.sb.Reset(r.Context())
			k.mu.Unlock()
			if err != nil {
				writeText(w, http.StatusInternalServerError, "restart failed: "+err.Error())
				return
			}
			writeJSON(w, http.StatusOK, nil)
		case r.Method == http.MethodDelete && action == "":
			ctx, cancel := detached()
			defer cancel()
			_ = k.sb.Close(ctx)
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

// normalizeLanguage does what the code interpreter does.
func normalizeLanguage(l string) string {
	l = strings.ToLower(strings.TrimSpace(l))
	switch l {
	case "", "python3":
		return "python"
	case "js":
		return "javascript"
	case "ts":
		return "typescript"
	}
	return l
}

// newKernel starts a context: a sandbox of the server's provider.
func (s *Server) newKernel(ctx context.Context, sb *fakeSandbox, language, cwd string) (*kernel, error) {
	language = normalizeLanguage(language)
	if language != "python" {
		return nil, fmt.Errorf("unsupported language %q: this fake server runs python only", language)
	}
	if cwd == "" {
		cwd = "/home/user"
	}
	box, err := s.provider.Create(ctx, sandbox.CreateOptions{Template: sb.template, AllowInternet: sb.internet, Env: sb.envVars})
	if err != nil {
		return nil, fmt.Errorf("starting the kernel: %w", err)
	}
	k := &kernel{id: newContextID(), language: language, cwd: cwd, sb: box}
	sb.mu.Lock()
	if sb.down {
		sb.mu.Unlock()
		cctx, cancel := detached()
		defer cancel()
		_ = box.Close(cctx)
		return nil, fmt.Errorf("sandbox is shutting down")
	}
	sb.contexts[k.id] = k
	sb.order = append(sb.order, k.id)
	sb.mu.Unlock()
	return k, nil
}

func newContextID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// defaultKernel returns the default context of language, creating it on
// first use.
func (s *Server) defaultKernel(ctx context.Context, sb *fakeSandbox, language string) (*kernel, error) {
	sb.mu.Lock()
	if id, ok := sb.deflt[language]; ok {
		if k := sb.contexts[id]; k != nil {
			sb.mu.Unlock()
			return k, nil
		}
	}
	sb.mu.Unlock()
	k, err := s.newKernel(ctx, sb, language, "")
	if err != nil {
		return nil, err
	}
	sb.mu.Lock()
	if id, ok := sb.deflt[language]; ok && sb.contexts[id] != nil {
		// Another request made it first; keep theirs.
		other := sb.contexts[id]
		delete(sb.contexts, k.id)
		sb.mu.Unlock()
		cctx, cancel := detached()
		defer cancel()
		_ = k.sb.Close(cctx)
		return other, nil
	}
	sb.deflt[language] = k.id
	sb.mu.Unlock()
	return k, nil
}

// execute serves POST /execute.
func (s *Server) execute(w http.ResponseWriter, r *http.Request, sb *fakeSandbox, f *Fault) {
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{
			{"type": "json_invalid", "loc": []any{"body"}, "msg": "JSON decode error"}}})
		return
	}
	var code string
	c, ok := raw["code"]
	if !ok {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{
			{"type": "missing", "loc": []any{"body", "code"}, "msg": "Field required"}}})
		return
	}
	// null is not a string either: the service answers 422 for it too.
	if string(bytes.TrimSpace(c)) == "null" || json.Unmarshal(c, &code) != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{
			{"type": "string_type", "loc": []any{"body", "code"}, "msg": "Input should be a valid string"}}})
		return
	}
	var contextID, language *string
	var env map[string]string
	for key, dst := range map[string]any{"context_id": &contextID, "language": &language, "env_vars": &env} {
		if v, ok := raw[key]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{
					{"type": "type_error", "loc": []any{"body", key}, "msg": "invalid value"}}})
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
		var err error
		if k, err = s.defaultKernel(r.Context(), sb, normalizeLanguage(lang)); err != nil {
			writeText(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	st := newStream(w, s.keepalive)
	defer st.stop()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
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
			name := f.ErrorName
			if name == "" {
				name = "ExecutionAborted"
			}
			st.write(map[string]any{"type": "error", "name": name, "value": "the execution was aborted", "traceback": ""})
			return
		case CutStream:
			st.cutAfterLines(max(f.AfterLines, 1), cancel)
		}
	}
	s.run(ctx, st, k, code, env)
}

// run executes code on k and streams its output.
func (s *Server) run(ctx context.Context, st *stream, k *kernel, code string, env map[string]string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.count++
	st.write(map[string]any{"type": "number_of_executions", "execution_count": k.count})
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
	exec, err := k.sb.Run(ctx, code, opts)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		st.write(map[string]any{"type": "error", "name": "UnexpectedEndOfExecution",
			"value": "the kernel stopped: " + err.Error(), "traceback": ""})
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

func outputLine(kind string, m sandbox.OutputMessage) map[string]any {
	ts := m.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	return map[string]any{"type": kind, "text": m.Text, "timestamp": ts.UTC().Format(time.RFC3339Nano)}
}

func resultLine(r sandbox.Result) map[string]any {
	line := map[string]any{"type": "result", "is_main_result": r.IsMainResult}
	for k, v := range map[string]string{"text": r.Text, "html": r.HTML, "markdown": r.Markdown, "svg": r.SVG,
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

func newStream(w http.ResponseWriter, every time.Duration) *stream {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	st := &stream{w: w, rc: http.NewResponseController(w), done: make(chan struct{})}
	_ = st.rc.Flush()
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
	return st
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
