package llm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	openaisse "github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/ttadev/primitives/internal/httpretry"
	"github.com/ttadev/primitives/recovery"
)

// errRequestTimeout is the cause of a call's context when
// WithRequestTimeout ran out.
var errRequestTimeout = errors.New("no complete answer within the request timeout")

// classify turns an error of an SDK into an error of this package. caller
// is the caller's context: when it is done, its cause is returned
// (wrapped), since the caller gave up and retrying is not wanted. An
// error this package made already (a *ResponseError for a stream whose
// events came out of order, say) is returned as it is, with its own
// verdict on retrying.
func classify(caller, call context.Context, provider string, key secret, err error) error {
	if err == nil {
		return nil
	}
	if caller.Err() != nil {
		return &canceledError{provider: provider, err: context.Cause(caller)}
	}
	if own, ok := errors.AsType[ownError](err); ok {
		return own
	}
	if bad, ok := errors.AsType[*recovery.InvalidInputError](err); ok {
		return bad
	}
	if call.Err() != nil && errors.Is(context.Cause(call), errRequestTimeout) {
		return &ConnectionError{Provider: provider, Err: errRequestTimeout}
	}
	var aerr *anthropic.Error
	if errors.As(err, &aerr) {
		return &APIError{
			Provider:  provider,
			Status:    aerr.StatusCode,
			Type:      string(aerr.Type()),
			Code:      string(aerr.ErrorCode()),
			Message:   redact(aerr.Message, key),
			RequestID: aerr.RequestID,
			InStream:  aerr.StatusCode < 400,
			After:     retryAfter(aerr.Response),
		}
	}
	var oerr *openai.Error
	if errors.As(err, &oerr) {
		e := &APIError{
			Provider: provider,
			Status:   oerr.StatusCode,
			Type:     oerr.Type,
			Code:     oerr.Code,
			Message:  redact(oerr.Message, key),
			After:    retryAfter(oerr.Response),
		}
		if oerr.Response != nil {
			e.RequestID = oerr.Response.Header.Get("x-request-id")
		}
		return e
	}
	var serr *openaisse.StreamError
	if errors.As(err, &serr) {
		return streamError(provider, key, serr.Event.Data)
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syntax) || errors.As(err, &typ) || strings.Contains(err.Error(), "error parsing response json") {
		return &ResponseError{Provider: provider, Err: err}
	}
	return &ConnectionError{Provider: provider, Err: err}
}

// streamError decodes the error event of an OpenAI-style stream:
// {"error":{"message":...,"type":...,"code":...}}.
func streamError(provider string, key secret, data []byte) error {
	var body struct {
		Error struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return &ResponseError{Provider: provider, Err: errors.New("malformed error event in stream")}
	}
	code := strings.Trim(string(body.Error.Code), `"`)
	if code == "null" {
		code = ""
	}
	return &APIError{
		Provider: provider,
		Status:   http.StatusOK,
		Type:     body.Error.Type,
		Code:     code,
		Message:  redact(body.Error.Message, key),
		InStream: true,
	}
}

// retryAfter returns the delay the answer asked for (see
// httpretry.Delay), or 0.
func retryAfter(res *http.Response) time.Duration {
	if res == nil {
		return 0
	}
	return httpretry.Delay(res.Header, time.Now())
}

// redact removes the API key from s, should a service have echoed it.
func redact(s string, key secret) string {
	if key.set() && strings.Contains(s, key.get()) {
		return strings.ReplaceAll(s, key.get(), "[redacted]")
	}
	return s
}

// ownError is implemented by the errors this package makes, which
// classify passes through unchanged.
type ownError interface {
	error
	ownError()
}

func (*APIError) ownError()                 {}
func (*ConnectionError) ownError()          {}
func (*ResponseError) ownError()            {}
func (*ConfigError) ownError()              {}
func (*RefusalError) ownError()             {}
func (*TemperatureRejectedError) ownError() {}
func (*canceledError) ownError()            {}

// canceledError is returned when the caller's context ended during a
// call: it matches the context's error (errors.Is context.Canceled or
// context.DeadlineExceeded). recovery.Retry does not retry once its own
// context is done.
type canceledError struct {
	provider string
	err      error
}

// Error names the provider and the context's cause.
func (e *canceledError) Error() string { return "llm: " + e.provider + ": " + e.err.Error() }

// Unwrap returns the context's cause.
func (e *canceledError) Unwrap() error { return e.err }
