package e2b

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	"github.com/ttadev/primitives/observability"
)

// CodeContext is a code interpreter context: a separate kernel with its own
// state (variables, imports, working directory).
type CodeContext struct {
	ID       string `json:"id"`
	Language string `json:"language"`
	Cwd      string `json:"cwd"`
}

// ContextParams describes a context to create. Zero fields take the
// service's defaults (python, /home/user).
type ContextParams struct {
	Language string `json:"language,omitempty"`
	Cwd      string `json:"cwd,omitempty"`
}

// CreateContext creates a context (POST /contexts). A language the code
// interpreter has no kernel for is a *sandbox.UnsupportedLanguageError.
func (s *Sandbox) CreateContext(ctx context.Context, p ContextParams) (cc CodeContext, err error) {
	ctx, end := s.contextSpan(ctx, "create", "")
	defer func() { end(err) }()
	p.Language = normalizeLanguage(p.Language)
	cl := s.dataCall("create context", http.MethodPost, "/contexts", p, "path", "/contexts")
	cl.language = p.Language
	if cl.language == "" {
		cl.language = "python"
	}
	_, raw, err := s.client.do(ctx, cl)
	if err != nil {
		return cc, err
	}
	if err := json.Unmarshal(raw, &cc); err != nil || cc.ID == "" {
		return cc, &ProtocolError{Op: "create context", Message: "the response is not a context: " + snippet(raw)}
	}
	return cc, nil
}

// ListContexts lists the sandbox's contexts (GET /contexts).
func (s *Sandbox) ListContexts(ctx context.Context) (list []CodeContext, err error) {
	ctx, end := s.contextSpan(ctx, "list", "")
	defer func() { end(err) }()
	_, raw, err := s.client.do(ctx, s.dataCall("list contexts", http.MethodGet, "/contexts", nil, "path", "/contexts"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, &ProtocolError{Op: "list contexts", Message: "the response is not a list of contexts: " + snippet(raw)}
	}
	return list, nil
}

// RestartContext restarts a context's kernel, discarding its state (POST
// /contexts/{id}/restart). An unknown context is a *NotFoundError.
func (s *Sandbox) RestartContext(ctx context.Context, id string) (err error) {
	ctx, end := s.contextSpan(ctx, "restart", id)
	defer func() { end(err) }()
	_, _, err = s.client.do(ctx, s.dataCall("restart context", http.MethodPost,
		"/contexts/"+url.PathEscape(id)+"/restart", nil, "context", id))
	return err
}

// RemoveContext removes a context and its kernel (DELETE /contexts/{id}).
// An unknown context is a *NotFoundError.
func (s *Sandbox) RemoveContext(ctx context.Context, id string) (err error) {
	ctx, end := s.contextSpan(ctx, "remove", id)
	defer func() { end(err) }()
	_, _, err = s.client.do(ctx, s.dataCall("remove context", http.MethodDelete,
		"/contexts/"+url.PathEscape(id), nil, "context", id))
	return err
}

// Health checks that the code interpreter answers (GET /health, 200). A
// sandbox still starting answers a retryable *SandboxUnavailableError.
func (s *Sandbox) Health(ctx context.Context) error {
	_, _, err := s.client.do(ctx, s.dataCall("health", http.MethodGet, "/health", nil, "path", "/health"))
	return err
}

func (s *Sandbox) contextSpan(ctx context.Context, op, id string) (context.Context, func(error)) {
	attrs := []attribute.KeyValue{
		attribute.String(observability.AttrSandboxID, s.ID),
		attribute.String(observability.AttrE2BOperation, op),
	}
	if id != "" {
		attrs = append(attrs, attribute.String(observability.AttrE2BContextID, id))
	}
	ctx, span := s.client.telemetry().StartSpan(ctx, observability.SpanE2BContext, attrs...)
	return ctx, func(err error) { observability.End(span, err) }
}

// normalizeLanguage does what the code interpreter does with a language
// (lower-case, trimmed, "js" → "javascript", "ts" → "typescript"), and
// maps "python3" to "python", which the server would otherwise take for
// a kernel of its own.
func normalizeLanguage(l string) string {
	l = strings.ToLower(strings.TrimSpace(l))
	switch l {
	case "python3":
		return "python"
	case "js":
		return "javascript"
	case "ts":
		return "typescript"
	}
	return l
}
