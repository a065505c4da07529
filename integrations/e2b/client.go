package e2b

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/ttadev/primitives/internal/httpretry"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
)

// Client speaks E2B's protocol: the control plane (sandboxes) and, through
// the [*Sandbox] handles it returns, the code interpreter of each sandbox.
//
// A Client holds no sandbox and no connection of its own beyond its HTTP
// client's idle connections; it is cheap to keep and safe for concurrent
// use. Its String, GoString and LogValue never show the API key.
type Client struct {
	cfg config
}

// NewClient builds a client from the environment (E2B_API_KEY, E2B_DOMAIN,
// E2B_API_URL, E2B_SANDBOX_URL, E2B_DEBUG, E2B_VALIDATE_API_KEY, and
// TTA.dev's E2B_TIMEOUT) and opts, which take precedence;
// observability.Option says where spans and logs go. It sends nothing. A
// missing API key, or one that is not "e2b_" followed by hex digits, is
// an *AuthenticationError (no key is needed in debug mode); an
// E2B_TIMEOUT that is not a positive number of seconds a *ConfigError.
// Invalid option values, and a nil option, panic.
func NewClient(opts ...ClientOption) (*Client, error) {
	return newClient("NewClient", opts)
}

func newClient(constructor string, opts []ClientOption) (*Client, error) {
	cfg, err := resolve(constructor, opts)
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg}, nil
}

// String describes the client with its API key redacted.
func (c Client) String() string { return "e2b.Client{" + c.cfg.String() + "}" }

// GoString is String, so that %#v does not print the key either.
func (c Client) GoString() string { return c.String() }

// Format prints String whatever the verb (%v, %+v, %#v, %s, %q, %x, %d,
// ...), so that no verb reaches the API key.
func (c Client) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String()) }

// Close closes the idle connections of the client's HTTP transport
// (those of the client given to [WithHTTPClient], if any). It kills no
// sandbox. The client stays usable: a later request opens a new
// connection. It returns nil.
func (c *Client) Close() error {
	c.cfg.httpClient.CloseIdleConnections()
	return nil
}

// LogValue describes the client for log/slog with the key redacted.
func (c *Client) LogValue() slog.Value { return c.cfg.logValue() }

// Debug reports whether the client is in debug mode (E2B_DEBUG).
func (c *Client) Debug() bool { return c.cfg.debug }

// Domain returns the configured base domain.
func (c *Client) Domain() string { return c.cfg.domain }

// APIURL returns the control-plane base URL.
func (c *Client) APIURL() string { return c.cfg.apiURL }

func (c *Client) telemetry() observability.Providers { return c.cfg.telemetry }

// errHeaderTimeout and errExecTimeout are cancellation causes that tell
// a request timeout from an execution timeout and from the caller's own
// cancellation.
// errDrained ends the read of what follows end_of_execution.
var (
	errHeaderTimeout = errors.New("e2b: request timeout")
	errExecTimeout   = errors.New("e2b: execution timeout")
	errDrained       = errors.New("e2b: stream drained")
)

// drainGrace bounds the read of the stream after end_of_execution.
const drainGrace = 200 * time.Millisecond

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// plane tells control-plane responses from data-plane ones, which map
// statuses differently.
type plane uint8

const (
	controlPlane plane = iota
	dataPlane
)

// call is one request and the way to read its answer.
type call struct {
	op     string
	plane  plane
	method string
	url    string
	body   any
	header http.Header
	// sandbox is the target of a data-plane call (for 502 mapping).
	sandbox *Sandbox
	// resource names what a 404 is about ("sandbox", "context").
	resource string
	id       string
	// language is the language asked for, on the calls that may create
	// a context (execute, create context).
	language string
}

// do runs a unary call under the request timeout and returns the status
// and body of a 2xx answer, or a typed error.
func (c *Client) do(ctx context.Context, cl *call) (int, []byte, error) {
	rctx, cancel := context.WithTimeoutCause(ctx, c.cfg.requestTimeout, errHeaderTimeout)
	defer cancel()
	resp, err := c.send(rctx, cl)
	if err != nil {
		return 0, nil, c.transportError(ctx, rctx, cl.op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, c.transportError(ctx, rctx, cl.op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, nil, c.responseError(cl, resp, body)
	}
	return resp.StatusCode, body, nil
}

// send builds and sends the request of cl.
func (c *Client) send(ctx context.Context, cl *call) (*http.Response, error) {
	var rd io.Reader
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range cl.header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", UserAgent)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cl.plane == controlPlane {
		req.Header.Set("X-API-Key", c.cfg.apiKey)
	}
	return c.cfg.httpClient.Do(req)
}

// transportError maps a failure to get an answer: the request timeout,
// the caller's cancellation, or a network error.
func (c *Client) transportError(callerCtx, reqCtx context.Context, op string, err error) error {
	if errors.Is(context.Cause(reqCtx), errHeaderTimeout) && callerCtx.Err() == nil {
		return &RequestTimeoutError{Op: op, After: c.cfg.requestTimeout}
	}
	if cerr := callerCtx.Err(); cerr != nil {
		return wrapf("e2b: %s: %w", op, context.Cause(callerCtx))
	}
	return wrapf("e2b: %s: %w", op, c.redactErr(err))
}

// redactErr makes sure no secret can leak through a transport error's
// text (none is ever put in a URL, but a proxy's answer might echo one).
func (c *Client) redactErr(err error) error {
	msg := err.Error()
	if c.cfg.apiKey != "" && strings.Contains(msg, c.cfg.apiKey) {
		return errors.New(c.redact(msg))
	}
	return err
}

func (c *Client) redact(s string) string {
	if c.cfg.apiKey != "" {
		s = strings.ReplaceAll(s, c.cfg.apiKey, "[redacted]")
	}
	return s
}

// errorBody is E2B's error body on both planes.
type errorBody struct {
	Code      json.Number     `json:"code"`
	Message   string          `json:"message"`
	ErrorCode string          `json:"error_code"`
	Port      int             `json:"port"`
	Detail    json.RawMessage `json:"detail"`
}

// responseError maps a non-2xx answer to a typed error.
func (c *Client) responseError(cl *call, resp *http.Response, body []byte) error {
	status := resp.StatusCode
	ctype := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ctype)
	var eb errorBody
	isJSON := json.Unmarshal(body, &eb) == nil && len(bytes.TrimSpace(body)) > 0 && bytes.TrimSpace(body)[0] == '{'
	msg := eb.Message
	if msg == "" && len(eb.Detail) > 0 {
		msg = string(eb.Detail)
	}
	if msg == "" && !isJSON {
		msg = snippet(body)
	}
	msg = c.redactSandbox(cl.sandbox, c.redact(msg))
	switch status {
	case http.StatusUnauthorized:
		return &AuthenticationError{Status: status, Message: msg}
	case http.StatusTooManyRequests:
		return &RateLimitError{Op: cl.op, Message: msg, After: httpretry.Delay(resp.Header, time.Now())}
	}
	if strings.Contains(mt, "html") || (cl.plane == controlPlane && !isJSON) {
		return &UnexpectedResponseError{Op: cl.op, Status: status, ContentType: ctype,
			Snippet: c.redactSandbox(cl.sandbox, c.redact(snippet(body)))}
	}
	switch {
	case status == http.StatusInternalServerError && cl.plane == dataPlane && !isJSON &&
		cl.language != "" && strings.HasPrefix(msg, "Failed to create context"):
		// The code interpreter has no kernel for the language.
		return mark(&sandbox.UnsupportedLanguageError{Language: cl.language, Supported: CodeInterpreterLanguages})
	case status == http.StatusNotFound:
		return &NotFoundError{Resource: cl.resource, ID: cl.id, Message: msg}
	case status == http.StatusBadGateway && cl.plane == dataPlane && isJSON:
		port := eb.Port
		notOpen := port != 0 || strings.Contains(strings.ToLower(msg), "port is not open")
		if port == 0 {
			port = CodeInterpreterPort
		}
		return &SandboxUnavailableError{SandboxID: cl.sandbox.ID, Port: port, PortNotOpen: notOpen,
			Message: msg, Age: time.Since(cl.sandbox.CreatedAt), Window: c.cfg.startupWindow}
	}
	code, _ := eb.Code.Int64()
	return &ServiceError{Op: cl.op, Status: status, Message: msg, Code: int(code), ErrorCode: eb.ErrorCode}
}

func (c *Client) redactSandbox(sb *Sandbox, s string) string {
	if sb == nil {
		return s
	}
	for _, tok := range []string{sb.envdAccessToken, sb.trafficAccessToken} {
		if tok != "" {
			s = strings.ReplaceAll(s, tok, "[redacted]")
		}
	}
	return s
}

// snippet returns the start of a body for an error message.
func snippet(body []byte) string {
	const max = 200
	s := strings.TrimSpace(string(body))
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// seconds converts a lifetime to E2B's whole seconds, rounding up.
func seconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}
