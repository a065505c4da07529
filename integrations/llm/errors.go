package llm

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ttadev/primitives/internal/httpretry"
	"github.com/ttadev/primitives/recovery"
)

// Sentinels matched (errors.Is) by the typed errors of this package.
var (
	// ErrTemperatureUnsupported is matched by *TemperatureRejectedError.
	ErrTemperatureUnsupported = errors.New("llm: temperature is not supported")
	// ErrAuthentication is matched by an *APIError with status 401 or 403.
	ErrAuthentication = errors.New("llm: authentication failed")
	// ErrRateLimited is matched by an *APIError with status 429.
	ErrRateLimited = errors.New("llm: rate limited")
	// ErrOverloaded is matched by an *APIError with status 529 or an
	// "overloaded_error" sent in a stream.
	ErrOverloaded = errors.New("llm: service overloaded")
	// ErrNotFound is matched by an *APIError with status 404 (often an
	// unknown model).
	ErrNotFound = errors.New("llm: not found")
	// ErrConnection is matched by *ConnectionError.
	ErrConnection = errors.New("llm: connection failed")
	// ErrNoAPIKey is matched by the *ConfigError of a constructor that
	// found no API key.
	ErrNoAPIKey = errors.New("llm: no API key")
	// ErrRefused is matched by *RefusalError.
	ErrRefused = errors.New("llm: the model refused")
)

// RefusalError is returned when the model refused to answer (Anthropic's
// "refusal" stop reason, OpenAI's refusal field) or the service's content
// filter cut its reply: such a reply is never an empty success. It is not
// retryable: the same request is refused again.
type RefusalError struct {
	// Provider is "anthropic" or "openai".
	Provider string
	// Model is the model that refused.
	Model string
	// Stop is StopRefusal or StopContentFilter.
	Stop StopReason
	// Refusal is the model's explanation, when it gave one (OpenAI's
	// refusal text).
	Refusal string
	// Response is the reply as it came, with its usage and any text
	// produced before the refusal.
	Response Response
}

// Error says who refused and why, with the model's explanation.
func (e *RefusalError) Error() string {
	s := fmt.Sprintf("llm: %s: model %s refused", e.Provider, e.Model)
	if e.Stop == StopContentFilter {
		s = fmt.Sprintf("llm: %s: the content filter cut the reply of model %s", e.Provider, e.Model)
	}
	if e.Refusal != "" {
		s += ": " + e.Refusal
	}
	return s
}

// Is matches ErrRefused.
func (e *RefusalError) Is(target error) bool { return target == ErrRefused }

// Retryable reports false.
func (e *RefusalError) Retryable() bool { return false }

// TemperatureRejectedError is returned by the Anthropic provider for a
// Request that sets Temperature, before anything is sent: the Messages
// API version the SDK speaks (anthropic-version 2026-10-21) rejects
// temperature, top_p and top_k with a 400. It is not retryable; remove
// the temperature from the request.
type TemperatureRejectedError struct {
	// Provider is "anthropic".
	Provider string
	// Model is the model the request named.
	Model string
	// APIVersion is the API version that rejects the parameter.
	APIVersion string
}

// Error names the model and the API version, and says nothing was sent.
func (e *TemperatureRejectedError) Error() string {
	return fmt.Sprintf("llm: %s: model %s: Request.Temperature is set, but API version %s rejects temperature, top_p and top_k for every model; leave it nil (nothing was sent)",
		e.Provider, e.Model, e.APIVersion)
}

// Is matches ErrTemperatureUnsupported.
func (e *TemperatureRejectedError) Is(target error) bool { return target == ErrTemperatureUnsupported }

// Retryable reports false: the same request is refused again.
func (e *TemperatureRejectedError) Retryable() bool { return false }

// APIError is an error answered by the service: an HTTP error status, or
// an error event in the middle of a stream (Status is then the stream's
// 200 and Type says what went wrong). It never holds the API key.
//
// It is retryable for 408, 409, 429 and 5xx (529 "overloaded" included)
// and for the stream error types that mean the same (overloaded_error,
// api_error, rate_limit_error, timeout_error, server_error); 400, 401,
// 403, 404 and 422 are not.
type APIError struct {
	// Provider is "anthropic" or "openai".
	Provider string
	// Status is the HTTP status code.
	Status int
	// Type is the error's type from the body, e.g. "rate_limit_error",
	// "overloaded_error", "invalid_request_error".
	Type string
	// Code is the body's error code, when it has one (OpenAI's "code",
	// Anthropic's error_code).
	Code string
	// Message is the service's message, with the API key removed should
	// it have been echoed.
	Message string
	// RequestID is the service's identifier of the request, for support.
	RequestID string
	// InStream reports an error event received after the stream started.
	InStream bool
	// After is the delay the service asked for in Retry-After-Ms or
	// Retry-After (at most a day: longer is cut), or 0.
	After time.Duration
}

// Error gives the provider, the status (or "error in stream"), the type,
// the code, the message, the retry delay and the request id.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "llm: %s: ", e.Provider)
	if e.InStream {
		b.WriteString("error in stream")
	} else {
		fmt.Fprintf(&b, "status %d", e.Status)
	}
	if e.Type != "" {
		b.WriteString(" " + e.Type)
	}
	if e.Code != "" {
		b.WriteString(" (" + e.Code + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.After > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.After)
	}
	if e.RequestID != "" {
		b.WriteString(" [request " + e.RequestID + "]")
	}
	return b.String()
}

// Is matches the sentinel of the status: ErrAuthentication (401, 403),
// ErrNotFound (404), ErrRateLimited (429), ErrOverloaded (529, or an
// overloaded_error type).
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrAuthentication:
		return e.Status == 401 || e.Status == 403
	case ErrNotFound:
		return e.Status == 404
	case ErrRateLimited:
		return e.Status == 429 || e.Type == "rate_limit_error"
	case ErrOverloaded:
		return e.Status == 529 || e.Type == "overloaded_error"
	}
	return false
}

// Retryable reports whether the same request may succeed later: true for
// 408, 409, 429 and 5xx, and for a stream error of a transient type.
func (e *APIError) Retryable() bool {
	if e.InStream {
		switch e.Type {
		case "overloaded_error", "api_error", "rate_limit_error", "timeout_error", "server_error":
			return true
		}
		return false
	}
	return httpretry.Retryable(e.Status)
}

// RetryAfter returns the delay the service asked for, or 0.
func (e *APIError) RetryAfter() time.Duration { return e.After }

// ConnectionError reports a call that got no complete answer: the
// connection was refused or dropped, a stream ended before its last
// event, or the call ran past WithRequestTimeout. It is retryable. Err is
// the underlying error (a *url.Error, io.ErrUnexpectedEOF, ...).
type ConnectionError struct {
	Provider string
	Err      error
}

// Error gives the provider and the underlying failure.
func (e *ConnectionError) Error() string {
	return fmt.Sprintf("llm: %s: connection failed: %v", e.Provider, e.Err)
}

// Is matches ErrConnection.
func (e *ConnectionError) Is(target error) bool { return target == ErrConnection }

// Unwrap returns Err.
func (e *ConnectionError) Unwrap() error { return e.Err }

// Retryable reports true.
func (e *ConnectionError) Retryable() bool { return true }

// ResponseError reports a response that could not be understood: a body
// that is not the JSON the API defines, or an event that breaks the
// stream's order. It is not retryable: the same server will answer the
// same way (is the base URL right?).
type ResponseError struct {
	Provider string
	Err      error
}

// Error gives the provider and what could not be understood.
func (e *ResponseError) Error() string {
	return fmt.Sprintf("llm: %s: unexpected response: %v", e.Provider, e.Err)
}

// Unwrap returns Err.
func (e *ResponseError) Unwrap() error { return e.Err }

// Retryable reports false.
func (e *ResponseError) Retryable() bool { return false }

// ConfigError is returned by a constructor whose configuration is
// incomplete, e.g. no API key in the options nor in the environment. It
// names what to set and never holds a key.
type ConfigError struct {
	Provider string
	Reason   string
	Err      error
}

// Error gives the provider and what to set.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("llm: %s: %s", e.Provider, e.Reason)
}

// Unwrap returns Err (e.g. ErrNoAPIKey).
func (e *ConfigError) Unwrap() error { return e.Err }

// Compile-time checks of the recovery interfaces.
var (
	_ recovery.Retryable        = (*APIError)(nil)
	_ recovery.RetryAfterHinter = (*APIError)(nil)
	_ recovery.Retryable        = (*ConnectionError)(nil)
	_ recovery.Retryable        = (*ResponseError)(nil)
	_ recovery.Retryable        = (*TemperatureRejectedError)(nil)
)
