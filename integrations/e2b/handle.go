package e2b

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
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
}

// String describes the sandbox without its access tokens.
func (s Sandbox) String() string {
	return fmt.Sprintf("e2b.Sandbox{ID: %s, TemplateID: %s, Domain: %q, CreatedAt: %s, secure: %t}",
		s.ID, s.TemplateID, s.Domain, s.CreatedAt.Format(time.RFC3339), s.envdAccessToken != "")
}

// GoString is String, so that %#v does not print the tokens either.
func (s Sandbox) GoString() string { return s.String() }

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
