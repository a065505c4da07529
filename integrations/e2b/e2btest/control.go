package e2btest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers E2B's error body.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"code": status, "message": msg})
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}

// applyFault answers a request with f when f replaces the whole answer,
// and reports whether it did.
func applyFault(w http.ResponseWriter, f *Fault, sandboxID string) bool {
	if f == nil {
		return false
	}
	switch f.Kind {
	case RateLimit:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
		}
		writeError(w, http.StatusTooManyRequests, "Rate limit exceeded")
	case Unauthorized:
		writeError(w, http.StatusUnauthorized, "Invalid API key, please visit https://e2b.dev/docs/api-key for more information.")
	case PortNotOpen:
		writeJSON(w, http.StatusBadGateway, map[string]any{"sandboxId": sandboxID,
			"message": "The sandbox is running but port is not open", "port": 49999, "code": 502})
	case SandboxNotFound:
		writeJSON(w, http.StatusBadGateway, map[string]any{"sandboxId": sandboxID,
			"message": "The sandbox was not found", "code": 502})
	case Status:
		st := f.Status
		if st == 0 {
			st = http.StatusInternalServerError
		}
		body := map[string]any{"code": st, "message": "injected failure"}
		if f.ErrorCode != "" {
			body["error_code"] = f.ErrorCode
		}
		writeJSON(w, st, body)
	case HTML:
		st := f.Status
		if st == 0 {
			st = http.StatusBadGateway
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(st)
		_, _ = w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>\n"))
	default:
		return false
	}
	return true
}

// fakeSandbox is one sandbox of the fake.
type fakeSandbox struct {
	id          string
	template    string
	alias       string
	accessToken string
	metadata    map[string]string
	envVars     map[string]string
	internet    bool
	startedAt   time.Time

	mu       sync.Mutex
	endAt    time.Time
	timer    *time.Timer
	paused   bool
	contexts map[string]*kernel
	cwd      map[string]string // context id → cwd
	order    []string
	deflt    map[string]string // language → default context id
	down     bool
}

type newSandboxRequest struct {
	TemplateID          *string           `json:"templateID"`
	Timeout             *int              `json:"timeout"`
	Metadata            map[string]string `json:"metadata"`
	EnvVars             map[string]string `json:"envVars"`
	Secure              bool              `json:"secure"`
	AllowInternetAccess *bool             `json:"allow_internet_access"`
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	op := OpControl
	switch {
	case r.Method == http.MethodPost && path == "/sandboxes":
		op = OpCreate
	case r.Method == http.MethodDelete && strings.HasPrefix(path, "/sandboxes/"):
		op = OpKill
	}
	if f := s.takeFault(op); f != nil {
		if f.Kind == NoSandboxID && op == OpCreate {
			writeJSON(w, http.StatusCreated, map[string]any{"templateID": "code-interpreter-v1",
				"clientID": "6532622b", "envdVersion": "0.2.0"})
			return
		}
		if applyFault(w, f, "") {
			return
		}
	}
	if r.Header.Get("X-API-Key") != s.apiKey {
		writeError(w, http.StatusUnauthorized, "Invalid API key, please visit https://e2b.dev/docs/api-key for more information.")
		return
	}
	switch {
	case op == OpCreate:
		s.create(w, r)
	case r.Method == http.MethodGet && path == "/v2/sandboxes":
		s.list(w, r)
	case strings.HasPrefix(path, "/sandboxes/"):
		rest := strings.TrimPrefix(path, "/sandboxes/")
		id, action, _ := strings.Cut(rest, "/")
		s.sandboxAction(w, r, id, action)
	default:
		writeError(w, http.StatusNotFound, "Not found")
	}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req newSandboxRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Error when parsing request: "+err.Error())
		return
	}
	if req.TemplateID == nil || *req.TemplateID == "" {
		writeError(w, http.StatusBadRequest, "Error when parsing request: templateID is required")
		return
	}
	lifetime := 15
	if req.Timeout != nil {
		lifetime = *req.Timeout
	}
	if lifetime <= 0 {
		writeError(w, http.StatusBadRequest, "Timeout must be greater than 0")
		return
	}
	if !s.lifetimeAllowed(w, lifetime) {
		return
	}
	sb := &fakeSandbox{
		id:        newSandboxID(),
		template:  *req.TemplateID,
		metadata:  req.Metadata,
		envVars:   req.EnvVars,
		internet:  req.AllowInternetAccess == nil || *req.AllowInternetAccess,
		startedAt: time.Now(),
		contexts:  map[string]*kernel{},
		cwd:       map[string]string{},
		deflt:     map[string]string{},
	}
	sb.startDefaultKernels()
	if req.Secure {
		sb.accessToken = randomHex(16)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "shutting down")
		return
	}
	s.sandboxes[sb.id] = sb
	s.stats.Creates++
	s.mu.Unlock()
	s.setLifetime(sb, time.Duration(lifetime)*time.Second)
	writeJSON(w, http.StatusCreated, s.sandboxBody(sb))
}

// lifetimeAllowed refuses, with 400, a lifetime above the plan's maximum.
func (s *Server) lifetimeAllowed(w http.ResponseWriter, seconds int) bool {
	if time.Duration(seconds)*time.Second > s.maxLifetime {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Timeout cannot be greater than %s", s.maxLifetime))
		return false
	}
	return true
}

func (s *Server) sandboxBody(sb *fakeSandbox) map[string]any {
	body := map[string]any{
		"templateID":         sb.template,
		"sandboxID":          sb.id,
		"clientID":           "6532622b",
		"envdVersion":        "0.2.0",
		"domain":             nil,
		"trafficAccessToken": nil,
	}
	if sb.accessToken != "" {
		body["envdAccessToken"] = sb.accessToken
	}
	return body
}

// setLifetime (re)arms the sandbox's end.
func (s *Server) setLifetime(sb *fakeSandbox, d time.Duration) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.endAt = time.Now().Add(d)
	if sb.timer != nil {
		sb.timer.Stop()
	}
	id := sb.id
	sb.timer = time.AfterFunc(d, func() { s.ExpireSandbox(id) })
}

func (s *Server) lookup(id string) *fakeSandbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sandboxes[id]
}

func (s *Server) sandboxAction(w http.ResponseWriter, r *http.Request, id, action string) {
	sb := s.lookup(id)
	if sb == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("sandbox %q not found", id))
		return
	}
	switch {
	case action == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.detail(sb))
	case action == "" && r.Method == http.MethodDelete:
		s.mu.Lock()
		_, ok := s.sandboxes[id]
		if ok {
			delete(s.sandboxes, id)
			s.stats.Kills++
		}
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("sandbox %q not found", id))
			return
		}
		sb.shutdown()
		w.WriteHeader(http.StatusNoContent)
	case action == "timeout" && r.Method == http.MethodPost:
		var body struct {
			Timeout *int `json:"timeout"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Timeout == nil {
			writeError(w, http.StatusBadRequest, "Error when parsing request: timeout is required")
			return
		}
		if *body.Timeout <= 0 {
			writeError(w, http.StatusBadRequest, "Timeout must be greater than 0")
			return
		}
		if !s.lifetimeAllowed(w, *body.Timeout) {
			return
		}
		s.setLifetime(sb, time.Duration(*body.Timeout)*time.Second)
		w.WriteHeader(http.StatusNoContent)
	case action == "connect" && r.Method == http.MethodPost:
		var body struct {
			Timeout *int `json:"timeout"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Timeout == nil || *body.Timeout <= 0 {
			writeError(w, http.StatusBadRequest, "Timeout must be greater than 0")
			return
		}
		if !s.lifetimeAllowed(w, *body.Timeout) {
			return
		}
		s.setLifetime(sb, time.Duration(*body.Timeout)*time.Second)
		sb.mu.Lock()
		resumed := sb.paused
		sb.paused = false
		sb.mu.Unlock()
		status := http.StatusOK
		if resumed {
			status = http.StatusCreated
		}
		writeJSON(w, status, s.sandboxBody(sb))
	case action == "pause" && r.Method == http.MethodPost:
		sb.mu.Lock()
		already := sb.paused
		sb.paused = true
		sb.mu.Unlock()
		if already {
			writeError(w, http.StatusConflict, "Sandbox is already paused")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusNotFound, "Not found")
	}
}

func (s *Server) detail(sb *fakeSandbox) map[string]any {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	state := "running"
	if sb.paused {
		state = "paused"
	}
	md := sb.metadata
	if md == nil {
		md = map[string]string{}
	}
	return map[string]any{
		"sandboxID": sb.id, "templateID": sb.template, "clientID": "6532622b",
		"startedAt": sb.startedAt.UTC().Format(time.RFC3339Nano), "endAt": sb.endAt.UTC().Format(time.RFC3339Nano),
		"cpuCount": 2, "memoryMB": 2048, "diskSizeMB": 10240, "metadata": md, "state": state, "envdVersion": "0.2.0",
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	states := map[string]bool{"running": true, "paused": true}
	if v := q.Get("state"); v != "" {
		states = map[string]bool{}
		for _, st := range strings.Split(v, ",") {
			if st != "running" && st != "paused" {
				writeError(w, http.StatusBadRequest, "invalid state "+st)
				return
			}
			states[st] = true
		}
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "limit must be between 1 and 100")
			return
		}
		limit = n
	}
	var mdFilter url.Values
	if v := q.Get("metadata"); v != "" {
		var err error
		if mdFilter, err = url.ParseQuery(v); err != nil {
			writeError(w, http.StatusBadRequest, "invalid metadata filter")
			return
		}
	}
	s.mu.Lock()
	all := make([]*fakeSandbox, 0, len(s.sandboxes))
	for _, sb := range s.sandboxes {
		all = append(all, sb)
	}
	s.mu.Unlock()
	// A stable order (by start time, then id) makes the page token an
	// index.
	sortSandboxes(all)
	var out []map[string]any
	for _, sb := range all {
		d := s.detail(sb)
		if !states[d["state"].(string)] {
			continue
		}
		match := true
		for k := range mdFilter {
			if sb.metadata[k] != mdFilter.Get(k) {
				match = false
			}
		}
		if match {
			out = append(out, d)
		}
	}
	start := 0
	if tok := q.Get("nextToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "invalid nextToken")
			return
		}
		start = min(n, len(out))
	}
	end := min(start+limit, len(out))
	if end < len(out) {
		w.Header().Set("X-Next-Token", strconv.Itoa(end))
	}
	page := out[start:end]
	if page == nil {
		page = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, page)
}

func sortSandboxes(all []*fakeSandbox) {
	slices.SortFunc(all, func(a, b *fakeSandbox) int {
		if c := a.startedAt.Compare(b.startedAt); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
}
