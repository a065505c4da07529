package e2b

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ttadev/primitives/internal/httpretry"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// Sentinels matched (errors.Is) by the typed errors of this package.
var (
	// ErrE2B is matched by every error this package returns: its typed
	// errors, the execution timeout, invalid input, an unsupported
	// language, the caller's cancellation and transport failures
	// (wrapped). errors.Is(err, e2b.ErrE2B) tells an E2B failure from
	// others in a pipeline; the wrapped errors stay visible to errors.Is
	// and errors.As.
	ErrE2B = errors.New("e2b: E2B failure")
	// ErrAuthentication is matched by *AuthenticationError.
	ErrAuthentication = errors.New("e2b: authentication failed")
	// ErrRateLimited is matched by *RateLimitError.
	ErrRateLimited = errors.New("e2b: rate limited")
	// ErrNotFound is matched by *NotFoundError.
	ErrNotFound = errors.New("e2b: not found")
	// ErrSandboxNotFound is matched by a *NotFoundError about a sandbox
	// and by a *SandboxUnavailableError saying the sandbox was not found.
	ErrSandboxNotFound = errors.New("e2b: sandbox not found")
	// ErrPortNotOpen is matched by a *SandboxUnavailableError saying the
	// sandbox runs but its port is not open (still starting, or a template
	// without the code interpreter).
	ErrPortNotOpen = errors.New("e2b: sandbox port is not open")
	// ErrInterrupted is matched by *InterruptedExecutionError.
	ErrInterrupted = errors.New("e2b: execution interrupted")
	// ErrStateLost is matched by *StateLostError.
	ErrStateLost = errors.New("e2b: interpreter state lost")
	// ErrRequestTimeout is matched by *RequestTimeoutError.
	ErrRequestTimeout = errors.New("e2b: request timed out")
	// ErrProtocol is matched by *ProtocolError.
	ErrProtocol = errors.New("e2b: protocol error")
	// ErrLineTooLong is wrapped by the *ProtocolError reporting an
	// execution-stream line longer than the maximum line size.
	ErrLineTooLong = errors.New("e2b: stream line exceeds the maximum line size")
)

// AuthenticationError reports a missing or malformed API key (found before
// anything is sent, Status 0) or a key the service refused (Status 401), or
// a sandbox access token envd refused. It is not retryable. It never
// contains the key.
type AuthenticationError struct {
	// Status is the HTTP status, or 0 when the key was refused locally.
	Status int
	// Message is the service's message or the local reason.
	Message string
}

func (e *AuthenticationError) Error() string {
	if e.Status == 0 {
		return "e2b: authentication: " + e.Message
	}
	return fmt.Sprintf("e2b: authentication failed (%d): %s", e.Status, e.Message)
}

// Is matches ErrAuthentication and ErrE2B.
func (e *AuthenticationError) Is(target error) bool {
	return target == ErrAuthentication || target == ErrE2B
}

// Retryable reports false: the same key will be refused again.
func (e *AuthenticationError) Retryable() bool { return false }

// RateLimitError reports HTTP 429: too many requests, or the team's cap on
// concurrent sandboxes reached. It is retryable, after the delay the
// service asked for when it sent a Retry-After (or Retry-After-Ms)
// header.
type RateLimitError struct {
	// Op is the operation refused, e.g. "create sandbox".
	Op string
	// Message is the service's message.
	Message string
	// After is the delay of the Retry-After-Ms or Retry-After header (at
	// most a day: longer is cut), or 0.
	After time.Duration
}

func (e *RateLimitError) Error() string {
	if e.After > 0 {
		return fmt.Sprintf("e2b: %s: rate limited (429, retry after %s): %s", e.Op, e.After, e.Message)
	}
	return fmt.Sprintf("e2b: %s: rate limited (429): %s", e.Op, e.Message)
}

// Is matches ErrRateLimited and ErrE2B.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited || target == ErrE2B }

// Retryable reports true.
func (e *RateLimitError) Retryable() bool { return true }

// RetryAfter returns the delay the service asked for (0 when it gave none).
func (e *RateLimitError) RetryAfter() time.Duration { return e.After }

// NotFoundError reports HTTP 404: an unknown sandbox (control plane) or an
// unknown context or path (code interpreter). It is not retryable.
type NotFoundError struct {
	// Resource is "sandbox", "context" or "path".
	Resource string
	// ID names the missing thing.
	ID string
	// Message is the service's message.
	Message string
}

func (e *NotFoundError) Error() string {
	what := e.Resource
	if what == "sandbox" {
		what = "E2B sandbox"
	}
	s := fmt.Sprintf("e2b: %s %s not found", what, e.ID)
	if e.Message != "" && !strings.Contains(strings.ToLower(e.Message), "not found") {
		s += ": " + e.Message
	}
	return s
}

// Is matches ErrNotFound and ErrE2B, and ErrSandboxNotFound when a
// sandbox is missing.
func (e *NotFoundError) Is(target error) bool {
	return target == ErrNotFound || target == ErrE2B || (target == ErrSandboxNotFound && e.Resource == "sandbox")
}

// Retryable reports false.
func (e *NotFoundError) Retryable() bool { return false }

// SandboxUnavailableError reports a 502 from E2B's sandbox proxy: the
// sandbox was not found, or it runs but the port is not open. Both are
// common in the first seconds after creation, so the error is retryable
// when the sandbox is younger than the startup window
// ([WithStartupWindow], 30 s by default); later, it means the sandbox
// ended (its lifetime passed) or the template has no code interpreter
// (such as "base"), and retrying the same sandbox is pointless.
type SandboxUnavailableError struct {
	SandboxID string
	Port      int
	// PortNotOpen distinguishes "running but port not open" from
	// "sandbox not found".
	PortNotOpen bool
	Message     string
	// Age is the sandbox's age when the error came back.
	Age time.Duration
	// Window is the startup window in force.
	Window time.Duration
}

func (e *SandboxUnavailableError) Error() string {
	what := "sandbox not found"
	if e.PortNotOpen {
		what = fmt.Sprintf("port %d is not open", e.Port)
	}
	hint := ""
	if !e.Retryable() {
		if e.PortNotOpen {
			hint = " (does the template run the code interpreter? \"base\" does not)"
		} else {
			hint = " (its lifetime may have ended; see WithSandboxLifetime)"
		}
	}
	return fmt.Sprintf("e2b: E2B sandbox %s is unavailable (502, %s, %s after creation): %s%s",
		e.SandboxID, what, e.Age.Round(time.Millisecond), e.Message, hint)
}

// Is matches ErrPortNotOpen or ErrSandboxNotFound, and ErrE2B.
func (e *SandboxUnavailableError) Is(target error) bool {
	if target == ErrE2B {
		return true
	}
	if e.PortNotOpen {
		return target == ErrPortNotOpen
	}
	return target == ErrSandboxNotFound
}

// Retryable reports whether the sandbox was still inside its startup
// window.
func (e *SandboxUnavailableError) Retryable() bool { return e.Age < e.Window }

// ServiceError is any other failure answered by the service: Status and
// the body's message and codes. It is retryable for 408, 409, 429 and
// 5xx, as every HTTP client of the module classifies statuses; any other
// 4xx is not.
type ServiceError struct {
	Op      string
	Status  int
	Message string
	// Code is the body's numeric "code", when present.
	Code int
	// ErrorCode is the body's "error_code", e.g.
	// "sandbox_capacity_unavailable", when present.
	ErrorCode string
}

func (e *ServiceError) Error() string {
	s := fmt.Sprintf("e2b: %s: %d: %s", e.Op, e.Status, e.Message)
	if e.ErrorCode != "" {
		s += " (" + e.ErrorCode + ")"
	}
	return s
}

// Retryable reports true for a 408, 409, 429 or 5xx status.
func (e *ServiceError) Retryable() bool { return httpretry.Retryable(e.Status) }

// Is matches ErrE2B.
func (e *ServiceError) Is(target error) bool { return target == ErrE2B }

// UnexpectedResponseError reports a response that is not what the
// protocol says, typically an HTML page from a proxy or a captive portal
// where JSON was expected. Snippet holds the start of the body. It is
// retryable when the status is 408, 409, 429 or 5xx.
type UnexpectedResponseError struct {
	Op          string
	Status      int
	ContentType string
	Snippet     string
}

func (e *UnexpectedResponseError) Error() string {
	return fmt.Sprintf("e2b: %s: unexpected response: status %d with content type %q, not JSON (is the API or sandbox URL right?): %q",
		e.Op, e.Status, e.ContentType, e.Snippet)
}

// Retryable reports true for a 408, 409, 429 or 5xx status.
func (e *UnexpectedResponseError) Retryable() bool { return httpretry.Retryable(e.Status) }

// Is matches ErrE2B.
func (e *UnexpectedResponseError) Is(target error) bool { return target == ErrE2B }

// ProtocolError reports a response that breaks the protocol: a 201 without
// sandboxID, a malformed stream line, a line above the maximum size. It is
// not retryable.
type ProtocolError struct {
	Op      string
	Message string
	// Err is the underlying error, e.g. ErrLineTooLong.
	Err error
}

func (e *ProtocolError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("e2b: %s: protocol error: %s: %s", e.Op, e.Message, trimPrefix(e.Err.Error()))
	}
	return fmt.Sprintf("e2b: %s: protocol error: %s", e.Op, e.Message)
}

// Is matches ErrProtocol and ErrE2B.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol || target == ErrE2B }

// Unwrap returns Err.
func (e *ProtocolError) Unwrap() error { return e.Err }

// Retryable reports false.
func (e *ProtocolError) Retryable() bool { return false }

// InterruptedExecutionError reports an execution stream that stopped
// before its end_of_execution line (the connection dropped, the sandbox
// was killed), or one the code interpreter ended with its synthetic
// "ExecutionAborted" error. Partial holds what arrived. It matches
// ErrInterrupted and sandbox.ErrCrashed, and is retryable on a fresh
// sandbox (the code may have partly run). An execution whose kernel was
// lost is a *StateLostError instead.
type InterruptedExecutionError struct {
	SandboxID string
	// Name and Value are those of the synthetic error line, if any.
	Name  string
	Value string
	// Err is the read error that ended the stream, or nil for a clean
	// end of body.
	Err     error
	Partial *sandbox.Execution
}

// Error names the sandbox and what ended the stream.
func (e *InterruptedExecutionError) Error() string {
	s := "e2b: an execution on E2B sandbox " + e.SandboxID + " was interrupted before it ended"
	if e.Name != "" {
		s += ": " + e.Name
		if e.Value != "" {
			s += ": " + e.Value
		}
	}
	if e.Err != nil {
		s += ": " + trimPrefix(e.Err.Error())
	}
	return s
}

// Is matches ErrInterrupted, sandbox.ErrCrashed and ErrE2B.
func (e *InterruptedExecutionError) Is(target error) bool {
	return target == ErrInterrupted || target == sandbox.ErrCrashed || target == ErrE2B
}

// Unwrap returns Err.
func (e *InterruptedExecutionError) Unwrap() error { return e.Err }

// Retryable reports true.
func (e *InterruptedExecutionError) Retryable() bool { return true }

// StateLostError reports that the code interpreter lost the kernel of
// the context an execution ran in, and said so with its synthetic error
// lines: "ContextRestarting" (the kernel died and was restarted), or
// "WebSocketError" then "UnexpectedEndOfExecution" (the context was
// restarted during the run). Variables, imports and definitions of that
// context are gone, so a session that relied on them cannot go on as if
// nothing happened: the sandbox's pool discards the sandbox. Partial
// holds what arrived before. It matches ErrStateLost and
// sandbox.ErrCrashed, and is retryable (on a fresh context or sandbox;
// the code may have partly run).
type StateLostError struct {
	SandboxID string
	// ContextID is the context the execution ran in ("" for a default
	// context).
	ContextID string
	// Name and Value are those of the first synthetic error line.
	Name    string
	Value   string
	Partial *sandbox.Execution
}

// Error says which sandbox and context lost its state, and why.
func (e *StateLostError) Error() string {
	s := "e2b: the interpreter state of E2B sandbox " + e.SandboxID
	if e.ContextID != "" {
		s += " (context " + e.ContextID + ")"
	}
	s += " was lost during an execution: " + e.Name
	if e.Value != "" {
		s += ": " + e.Value
	}
	return s + "; its variables, imports and definitions are gone"
}

// Is matches ErrStateLost, sandbox.ErrCrashed and ErrE2B.
func (e *StateLostError) Is(target error) bool {
	return target == ErrStateLost || target == sandbox.ErrCrashed || target == ErrE2B
}

// Retryable reports true: a fresh context runs the code from scratch.
func (e *StateLostError) Retryable() bool { return true }

// RequestTimeoutError reports that a request got no answer in time: a
// control-plane call, or an execution whose response headers did not come
// within the request timeout ([WithRequestTimeout]). It differs from the
// execution timeout, which is a *recovery.TimeoutError with Op
// "e2b execution". It matches ErrRequestTimeout and recovery.ErrTimeout,
// and is retryable.
type RequestTimeoutError struct {
	Op    string
	After time.Duration
}

func (e *RequestTimeoutError) Error() string {
	return fmt.Sprintf("e2b: %s: no response within the request timeout (%s)", e.Op, e.After)
}

// Is matches ErrRequestTimeout, recovery.ErrTimeout,
// context.DeadlineExceeded and ErrE2B.
func (e *RequestTimeoutError) Is(target error) bool {
	return target == ErrRequestTimeout || target == recovery.ErrTimeout || target == context.DeadlineExceeded ||
		target == ErrE2B
}

// Retryable reports true.
func (e *RequestTimeoutError) Retryable() bool { return true }

// ExecutionTimeoutOp is the Op of the *recovery.TimeoutError returned when
// an execution runs past its timeout.
const ExecutionTimeoutOp = "e2b execution"

func executionTimeout(after time.Duration) error {
	return &recovery.TimeoutError{Op: ExecutionTimeoutOp, After: after, Err: mark(context.DeadlineExceeded)}
}

// ConfigError reports an environment variable whose value the client
// cannot use (E2B_TIMEOUT that is not a positive number of seconds). It
// is returned by the constructors and is not retryable.
type ConfigError struct {
	Variable string
	Value    string
	Reason   string
}

// Error names the variable, its value and what was expected.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("e2b: %s=%q: %s", e.Variable, e.Value, e.Reason)
}

// Is matches ErrE2B.
func (e *ConfigError) Is(target error) bool { return target == ErrE2B }

// Retryable reports false.
func (e *ConfigError) Retryable() bool { return false }

// wrapped is an error of this package around another one (the caller's
// context error, a transport error, invalid input, an unsupported
// language): its text, the other error's Is and As, and ErrE2B. It does
// not implement Retryable, so the wrapped error's classification holds.
type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string        { return e.msg }
func (e *wrapped) Unwrap() error        { return e.err }
func (e *wrapped) Is(target error) bool { return target == ErrE2B }

// wrapf is fmt.Errorf (with one %w) whose result also matches ErrE2B.
func wrapf(format string, args ...any) error {
	e := fmt.Errorf(format, args...)
	return &wrapped{msg: e.Error(), err: errors.Unwrap(e)}
}

// mark makes err match ErrE2B, keeping its text.
func mark(err error) error { return &wrapped{msg: err.Error(), err: err} }

// Compile-time checks of the recovery interfaces.
var (
	_ recovery.Retryable        = (*RateLimitError)(nil)
	_ recovery.RetryAfterHinter = (*RateLimitError)(nil)
	_ recovery.Retryable        = (*SandboxUnavailableError)(nil)
	_ recovery.Retryable        = (*ServiceError)(nil)
	_ recovery.Retryable        = (*AuthenticationError)(nil)
	_ recovery.Retryable        = (*StateLostError)(nil)
	_ recovery.Retryable        = (*InterruptedExecutionError)(nil)
	_ recovery.Retryable        = (*ConfigError)(nil)
)

// trimPrefix drops the "e2b: " of a wrapped error's text, so that a
// message does not stack the package's prefix twice.
func trimPrefix(s string) string { return strings.TrimPrefix(s, "e2b: ") }

// CodeInterpreterLanguages are the languages of the kernels E2B's code
// interpreter template ships, as reported in an
// *sandbox.UnsupportedLanguageError.
var CodeInterpreterLanguages = []string{"python", "javascript", "typescript", "r", "java", "bash"}
