package e2b

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Sandbox is a handle to one E2B sandbox, returned by
// [Client.CreateSandbox] and [Client.Connect]. It carries what the data
// plane needs (the sandbox's domain and access tokens, which are never
// printed) and the time it was created, which decides whether a 502 from
// E2B's proxy is a sandbox still starting.
//
// A handle is immutable and safe for concurrent use; executions on one
// code interpreter context are serialised by the service.
type Sandbox struct {
	// ID is E2B's sandboxID.
	ID string
	// TemplateID is the template the sandbox runs.
	TemplateID string
	// Alias is the template's alias, if any.
	Alias string
	// EnvdVersion is the version of the sandbox's envd daemon.
	EnvdVersion string
	// Domain is the sandbox's domain ("" means the client's).
	Domain string
	// CreatedAt is when the handle was obtained: creation, or resumption
	// by Connect.
	CreatedAt time.Time

	client             *Client
	envdAccessToken    string
	trafficAccessToken string
	// cut records the contexts whose last execution this handle cut
	// short; shared by copies of the handle.
	cut *cutContexts
}

// String describes the sandbox without its access tokens.
func (s Sandbox) String() string {
	return fmt.Sprintf("e2b.Sandbox{ID: %s, TemplateID: %s, Domain: %q, CreatedAt: %s, secure: %t}",
		s.ID, s.TemplateID, s.Domain, s.CreatedAt.Format(time.RFC3339), s.envdAccessToken != "")
}

// GoString is String, so that %#v does not print the tokens either.
func (s Sandbox) GoString() string { return s.String() }

// Format prints String whatever the verb (%v, %+v, %#v, %s, %q, %x, %d,
// ...), so that no verb reaches the access tokens.
func (s Sandbox) Format(f fmt.State, verb rune) { formatRedacted(f, verb, s.String()) }

// LogValue describes the sandbox for log/slog, without its tokens.
func (s Sandbox) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", s.ID), slog.String("template", s.TemplateID),
		slog.Bool("secure", s.envdAccessToken != ""))
}

// formatRedacted writes a redacted description for any verb: quoted for
// %q, as is otherwise.
func formatRedacted(f fmt.State, verb rune, desc string) {
	if verb == 'q' {
		desc = strconv.Quote(desc)
	}
	_, _ = io.WriteString(f, desc)
}

// cutContexts is the set of contexts, by key, whose last execution was
// cut short on the client's side.
type cutContexts struct {
	mu  sync.Mutex
	set map[string]bool
}

func cutKey(contextID, lang string) string {
	if contextID != "" {
		return "context " + contextID
	}
	if lang == "" {
		lang = "python"
	}
	return "language " + lang
}

// markCut records that an execution on a context was cut short.
func (s *Sandbox) markCut(contextID, lang string) {
	if s.cut == nil {
		return
	}
	s.cut.mu.Lock()
	defer s.cut.mu.Unlock()
	if s.cut.set == nil {
		s.cut.set = map[string]bool{}
	}
	s.cut.set[cutKey(contextID, lang)] = true
}

// takeCut reports and forgets whether a context's last execution was cut.
func (s *Sandbox) takeCut(key string) bool {
	if s.cut == nil {
		return false
	}
	s.cut.mu.Lock()
	defer s.cut.mu.Unlock()
	was := s.cut.set[key]
	delete(s.cut.set, key)
	return was
}

// restartIfCut restarts a context whose last execution this handle cut
// short (see Execute). A context that no longer exists needs nothing.
func (s *Sandbox) restartIfCut(ctx context.Context, contextID, lang string) error {
	key := cutKey(contextID, lang)
	if !s.takeCut(key) {
		return nil
	}
	id := contextID
	if id == "" {
		want := lang
		if want == "" {
			want = "python"
		}
		list, err := s.ListContexts(ctx)
		if err != nil {
			s.markCut(contextID, lang)
			return err
		}
		// The default context of a language is the first one listed.
		for _, c := range list {
			if c.Language == want {
				id = c.ID
				break
			}
		}
		if id == "" {
			return nil
		}
	}
	err := s.RestartContext(ctx, id)
	var nf *NotFoundError
	if err != nil && !errors.As(err, &nf) {
		s.markCut(contextID, lang)
		return err
	}
	return nil
}

// WaitReady waits until the sandbox's code interpreter answers (GET
// /health), retrying the 502s E2B's proxy answers while a sandbox starts
// ("port is not open", "sandbox was not found") for as long as the
// sandbox is within its startup window ([WithStartupWindow]), with a
// backoff from 50 ms to 1 s. [Client.CreateSandbox] calls it unless
// CreateParams.NoWait is set; call it after [Client.Connect] resumes a
// paused sandbox. Any other failure, a 502 past the window, or ctx
// ending returns an error (the last one naming the sandbox's last
// answer). Safe for concurrent use.
func (s *Sandbox) WaitReady(ctx context.Context) error {
	delay := 50 * time.Millisecond
	for {
		err := s.Health(ctx)
		var su *SandboxUnavailableError
		if err == nil || !errors.As(err, &su) || !su.Retryable() {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			// The caller gave up: say so (not retryable), naming the
			// sandbox's last answer.
			return wrapf("e2b: waiting for the code interpreter of E2B sandbox %s: %w (last answer: %s)",
				s.ID, context.Cause(ctx), trimPrefix(err.Error()))
		case <-t.C:
		}
		if delay *= 2; delay > time.Second {
			delay = time.Second
		}
	}
}

// Secure reports whether the sandbox has an envd access token (sent as
// X-Access-Token on every data-plane request).
func (s *Sandbox) Secure() bool { return s.envdAccessToken != "" }

// Kill kills the sandbox; see [Client.Kill].
func (s *Sandbox) Kill(ctx context.Context) (bool, error) { return s.client.Kill(ctx, s.ID) }

// SetTimeout sets the sandbox's remaining lifetime; see [Client.SetTimeout].
func (s *Sandbox) SetTimeout(ctx context.Context, d time.Duration) error {
	return s.client.SetTimeout(ctx, s.ID, d)
}

// Age returns the time since the handle was obtained.
func (s *Sandbox) Age() time.Duration { return time.Since(s.CreatedAt) }

// portURL returns the base URL of a port of the sandbox: E2B_SANDBOX_URL
// when set (routing by headers), http://localhost:{port} in debug mode,
// else https://{port}-{sandboxID}.{domain}.
func (s *Sandbox) portURL(port int) string {
	cfg := &s.client.cfg
	switch {
	case cfg.sandboxURL != "":
		return cfg.sandboxURL
	case cfg.debug:
		return "http://localhost:" + strconv.Itoa(port)
	}
	domain := s.Domain
	if domain == "" {
		domain = cfg.domain
	}
	return "https://" + strconv.Itoa(port) + "-" + s.ID + "." + domain
}

// headers returns the data-plane headers for port.
func (s *Sandbox) headers(port int) http.Header {
	h := http.Header{
		"E2b-Sandbox-Id":   {s.ID},
		"E2b-Sandbox-Port": {strconv.Itoa(port)},
	}
	if s.envdAccessToken != "" {
		h["X-Access-Token"] = []string{s.envdAccessToken}
	}
	if s.trafficAccessToken != "" {
		h["E2b-Traffic-Access-Token"] = []string{s.trafficAccessToken}
	}
	return h
}

// dataCall builds a data-plane call to the code interpreter.
func (s *Sandbox) dataCall(op, method, path string, body any, resource, id string) *call {
	return &call{op: op, plane: dataPlane, method: method, url: s.portURL(CodeInterpreterPort) + path,
		body: body, header: s.headers(CodeInterpreterPort), sandbox: s, resource: resource, id: id}
}
