package e2b

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
)

// CreateParams describes a sandbox to create. Zero fields take the
// client's configuration (template, lifetime, metadata, env vars).
type CreateParams struct {
	// Template is the template id or alias (default "code-interpreter-v1").
	Template string
	// Lifetime is how long the sandbox lives, sent in whole seconds
	// (default 300 s). Negative is invalid input.
	Lifetime time.Duration
	// Metadata is attached to the sandbox.
	Metadata map[string]string
	// EnvVars are set in the sandbox.
	EnvVars map[string]string
	// DenyInternet sends allow_internet_access=false (E2B allows it by
	// default).
	DenyInternet bool
	// NoWait returns the handle as soon as E2B answers 201, without
	// waiting for the sandbox's code interpreter (see
	// [Sandbox.WaitReady]); Execute may then meet 502s for a moment. Set
	// it for a template without the code interpreter (such as "base"),
	// which would otherwise be waited for until the startup window ends.
	NoWait bool
}

// newSandboxBody is E2B's NewSandbox. allow_internet_access is snake_case
// on the wire while the other fields are camelCase.
type newSandboxBody struct {
	TemplateID          string            `json:"templateID"`
	Timeout             int               `json:"timeout"`
	Metadata            map[string]string `json:"metadata"`
	EnvVars             map[string]string `json:"envVars"`
	Secure              bool              `json:"secure"`
	AllowInternetAccess bool              `json:"allow_internet_access"`
}

// sandboxBody is E2B's Sandbox (the answer to create and connect).
type sandboxBody struct {
	TemplateID         string  `json:"templateID"`
	SandboxID          string  `json:"sandboxID"`
	ClientID           string  `json:"clientID"`
	EnvdVersion        string  `json:"envdVersion"`
	Alias              string  `json:"alias"`
	EnvdAccessToken    *string `json:"envdAccessToken"`
	TrafficAccessToken *string `json:"trafficAccessToken"`
	Domain             *string `json:"domain"`
}

// CreateSandbox creates a sandbox (POST /sandboxes, 201), waits until its
// code interpreter answers ([Sandbox.WaitReady]; skipped with
// p.NoWait) and returns its handle, ready for Execute. It takes E2B's
// creation time (seconds on a cold start) plus usually one health
// request. A sandbox created here lives until [Sandbox.Kill] or its
// lifetime ends: the caller owns it; one that does not become ready is
// killed before the error is returned. In debug mode it sends nothing and
// returns a handle to the local code interpreter.
func (c *Client) CreateSandbox(ctx context.Context, p CreateParams) (sb *Sandbox, err error) {
	if p.Lifetime < 0 {
		return nil, mark(&recovery.InvalidInputError{Field: "lifetime", Reason: fmt.Sprintf("%s is negative", p.Lifetime)})
	}
	body := newSandboxBody{
		TemplateID:          p.Template,
		Timeout:             seconds(p.Lifetime),
		Metadata:            p.Metadata,
		EnvVars:             p.EnvVars,
		Secure:              c.cfg.secure,
		AllowInternetAccess: !p.DenyInternet,
	}
	if body.TemplateID == "" {
		body.TemplateID = c.cfg.template
	}
	if p.Lifetime == 0 {
		body.Timeout = seconds(c.cfg.lifetime)
	}
	if body.Metadata == nil {
		body.Metadata = c.cfg.metadata
	}
	if body.EnvVars == nil {
		body.EnvVars = c.cfg.envVars
	}
	if body.Metadata == nil {
		body.Metadata = map[string]string{}
	}
	if body.EnvVars == nil {
		body.EnvVars = map[string]string{}
	}
	ctx, span := c.telemetry().StartSpan(ctx, observability.SpanE2BCreate,
		attribute.String(observability.AttrSandboxProvider, ProviderName),
		attribute.String(observability.AttrE2BTemplate, body.TemplateID))
	defer func() {
		if span != nil && sb != nil {
			span.SetAttributes(attribute.String(observability.AttrSandboxID, sb.ID))
		}
		observability.End(span, err)
	}()
	if c.cfg.debug {
		return &Sandbox{ID: "debug_sandbox_id", TemplateID: body.TemplateID, CreatedAt: time.Now(), client: c, cut: &cutContexts{}}, nil
	}
	_, raw, err := c.do(ctx, &call{op: "create sandbox", plane: controlPlane, method: http.MethodPost,
		url: c.cfg.apiURL + "/sandboxes", body: body, resource: "template", id: body.TemplateID})
	if err != nil {
		return nil, err
	}
	sb, err = c.sandboxFrom("create sandbox", raw, time.Now())
	if err != nil {
		return nil, err
	}
	if !p.NoWait {
		if err := sb.WaitReady(ctx); err != nil {
			kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.requestTimeout)
			defer cancel()
			_, _ = sb.Kill(kctx)
			return nil, err
		}
	}
	observability.Log(ctx, c.telemetry().Log(), slog.LevelDebug, "e2b sandbox created",
		slog.String(observability.AttrSandboxID, sb.ID), slog.String(observability.AttrE2BTemplate, sb.TemplateID))
	return sb, nil
}

// sandboxFrom reads a Sandbox body.
func (c *Client) sandboxFrom(op string, raw []byte, created time.Time) (*Sandbox, error) {
	var b sandboxBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, &ProtocolError{Op: op, Message: "the response is not a Sandbox object: " + snippet(raw)}
	}
	if b.SandboxID == "" {
		return nil, &ProtocolError{Op: op, Message: "the response has no sandboxID"}
	}
	sb := &Sandbox{ID: b.SandboxID, TemplateID: b.TemplateID, Alias: b.Alias, EnvdVersion: b.EnvdVersion,
		CreatedAt: created, client: c, cut: &cutContexts{}}
	if b.Domain != nil {
		sb.Domain = *b.Domain
	}
	if b.EnvdAccessToken != nil {
		sb.envdAccessToken = *b.EnvdAccessToken
	}
	if b.TrafficAccessToken != nil {
		sb.trafficAccessToken = *b.TrafficAccessToken
	}
	return sb, nil
}

// Kill kills a sandbox (DELETE /sandboxes/{id}, 204). It reports false
// and no error when the sandbox does not exist (already killed, or its
// lifetime ended), as E2B's SDKs do.
func (c *Client) Kill(ctx context.Context, sandboxID string) (killed bool, err error) {
	ctx, span := c.telemetry().StartSpan(ctx, observability.SpanE2BKill,
		attribute.String(observability.AttrSandboxID, sandboxID))
	defer func() { observability.End(span, err) }()
	if c.cfg.debug {
		return true, nil
	}
	_, _, err = c.do(ctx, &call{op: "kill sandbox", plane: controlPlane, method: http.MethodDelete,
		url: c.cfg.apiURL + "/sandboxes/" + url.PathEscape(sandboxID), resource: "sandbox", id: sandboxID})
	if err != nil {
		var nf *NotFoundError
		if errors.As(err, &nf) {
			return false, nil
		}
		return false, err
	}
	observability.Log(ctx, c.telemetry().Log(), slog.LevelDebug, "e2b sandbox killed",
		slog.String(observability.AttrSandboxID, sandboxID))
	return true, nil
}

type timeoutBody struct {
	Timeout int `json:"timeout"`
}

// SetTimeout sets a sandbox's remaining lifetime to d from now (POST
// /sandboxes/{id}/timeout, 204), in whole seconds. d <= 0 is invalid
// input; an unknown sandbox is a *NotFoundError.
func (c *Client) SetTimeout(ctx context.Context, sandboxID string, d time.Duration) (err error) {
	if d <= 0 {
		return mark(&recovery.InvalidInputError{Field: "timeout", Reason: fmt.Sprintf("%s must be > 0", d)})
	}
	ctx, span := c.telemetry().StartSpan(ctx, observability.SpanE2BSetTimeout,
		attribute.String(observability.AttrSandboxID, sandboxID))
	defer func() { observability.End(span, err) }()
	if c.cfg.debug {
		return nil
	}
	_, _, err = c.do(ctx, &call{op: "set sandbox timeout", plane: controlPlane, method: http.MethodPost,
		url: c.cfg.apiURL + "/sandboxes/" + url.PathEscape(sandboxID) + "/timeout", body: timeoutBody{seconds(d)},
		resource: "sandbox", id: sandboxID})
	return err
}

// Connect returns a handle to an existing sandbox, resuming it when it is
// paused (POST /sandboxes/{id}/connect: 200 running, 201 resumed), and
// sets its lifetime to d from now (0: the client's default). A resumed
// sandbox starts its startup window anew.
func (c *Client) Connect(ctx context.Context, sandboxID string, d time.Duration) (sb *Sandbox, err error) {
	if d < 0 {
		return nil, mark(&recovery.InvalidInputError{Field: "timeout", Reason: fmt.Sprintf("%s is negative", d)})
	}
	if d == 0 {
		d = c.cfg.lifetime
	}
	ctx, span := c.telemetry().StartSpan(ctx, observability.SpanE2BConnect,
		attribute.String(observability.AttrSandboxID, sandboxID))
	defer func() { observability.End(span, err) }()
	if c.cfg.debug {
		return &Sandbox{ID: sandboxID, CreatedAt: time.Now(), client: c, cut: &cutContexts{}}, nil
	}
	status, raw, err := c.do(ctx, &call{op: "connect sandbox", plane: controlPlane, method: http.MethodPost,
		url: c.cfg.apiURL + "/sandboxes/" + url.PathEscape(sandboxID) + "/connect", body: timeoutBody{seconds(d)},
		resource: "sandbox", id: sandboxID})
	if err != nil {
		return nil, err
	}
	// A running sandbox is past its startup; a resumed one starts now.
	created := time.Now().Add(-c.cfg.startupWindow)
	if status == http.StatusCreated {
		created = time.Now()
	}
	return c.sandboxFrom("connect sandbox", raw, created)
}

// SandboxDetail describes a sandbox as Get and List report it.
type SandboxDetail struct {
	SandboxID   string            `json:"sandboxID"`
	TemplateID  string            `json:"templateID"`
	Alias       string            `json:"alias,omitempty"`
	ClientID    string            `json:"clientID"`
	StartedAt   time.Time         `json:"startedAt"`
	EndAt       time.Time         `json:"endAt"`
	CPUCount    int               `json:"cpuCount"`
	MemoryMB    int               `json:"memoryMB"`
	DiskSizeMB  int               `json:"diskSizeMB"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	State       string            `json:"state"`
	EnvdVersion string            `json:"envdVersion,omitempty"`
}

// Get returns a sandbox's details (GET /sandboxes/{id}); an unknown
// sandbox is a *NotFoundError.
func (c *Client) Get(ctx context.Context, sandboxID string) (d SandboxDetail, err error) {
	ctx, span := c.telemetry().StartSpan(ctx, observability.SpanE2BGet,
		attribute.String(observability.AttrSandboxID, sandboxID))
	defer func() { observability.End(span, err) }()
	_, raw, err := c.do(ctx, &call{op: "get sandbox", plane: controlPlane, method: http.MethodGet,
		url: c.cfg.apiURL + "/sandboxes/" + url.PathEscape(sandboxID), resource: "sandbox", id: sandboxID})
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, &ProtocolError{Op: "get sandbox", Message: "the response is not a SandboxDetail: " + snippet(raw)}
	}
	return d, nil
}

// ListParams filters and pages List.
type ListParams struct {
	// States selects "running" and/or "paused" sandboxes (default both).
	States []string
	// Metadata keeps sandboxes whose metadata has all these pairs.
	Metadata map[string]string
	// Limit is the page size, at most 100 (0: the service's default).
	Limit int
	// NextToken continues a previous listing (ListPage.NextToken).
	NextToken string
}

// ListPage is one page of sandboxes. NextToken is "" on the last page.
type ListPage struct {
	Sandboxes []SandboxDetail
	NextToken string
}

// List returns one page of the team's sandboxes (GET /v2/sandboxes, the
// next page's token in the X-Next-Token header).
func (c *Client) List(ctx context.Context, p ListParams) (page ListPage, err error) {
	if p.Limit < 0 || p.Limit > 100 {
		return page, mark(&recovery.InvalidInputError{Field: "limit", Reason: fmt.Sprintf("%d is not in [0, 100]", p.Limit)})
	}
	ctx, span := c.telemetry().StartSpan(ctx, observability.SpanE2BList)
	defer func() { observability.End(span, err) }()
	if c.cfg.debug {
		return page, nil
	}
	q := url.Values{}
	states := p.States
	if len(states) == 0 {
		states = []string{"running", "paused"}
	}
	q.Set("state", strings.Join(states, ","))
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.NextToken != "" {
		q.Set("nextToken", p.NextToken)
	}
	if len(p.Metadata) > 0 {
		md := url.Values{}
		for k, v := range p.Metadata {
			md.Set(k, v)
		}
		q.Set("metadata", md.Encode())
	}
	rctx, cancel := context.WithTimeoutCause(ctx, c.cfg.requestTimeout, errHeaderTimeout)
	defer cancel()
	cl := &call{op: "list sandboxes", plane: controlPlane, method: http.MethodGet,
		url: c.cfg.apiURL + "/v2/sandboxes?" + q.Encode(), resource: "sandboxes"}
	resp, err := c.send(rctx, cl)
	if err != nil {
		return page, c.transportError(ctx, rctx, cl.op, err)
	}
	defer resp.Body.Close()
	raw, err := readAllLimited(resp)
	if err != nil {
		return page, c.transportError(ctx, rctx, cl.op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return page, c.responseError(cl, resp, raw)
	}
	if err := json.Unmarshal(raw, &page.Sandboxes); err != nil {
		return page, &ProtocolError{Op: cl.op, Message: "the response is not a list of sandboxes: " + snippet(raw)}
	}
	page.NextToken = resp.Header.Get("X-Next-Token")
	return page, nil
}

// ListAll iterates over every page of List, stopping at the first error
// (yielded once).
func (c *Client) ListAll(ctx context.Context, p ListParams) iter.Seq2[SandboxDetail, error] {
	return func(yield func(SandboxDetail, error) bool) {
		for {
			page, err := c.List(ctx, p)
			if err != nil {
				yield(SandboxDetail{}, err)
				return
			}
			for _, s := range page.Sandboxes {
				if !yield(s, nil) {
					return
				}
			}
			if page.NextToken == "" {
				return
			}
			p.NextToken = page.NextToken
		}
	}
}

func readAllLimited(resp *http.Response) ([]byte, error) {
	return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
}
