package e2b

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// ExecuteOptions tunes one execution: the neutral run options (timeout,
// env vars for this run only, language, streaming callbacks) plus the code
// interpreter context to run in.
type ExecuteOptions struct {
	sandbox.RunOptions
	// ContextID runs the code in that context (see CreateContext). It
	// excludes Language; neither means the default Python context.
	ContextID string
}

// executeBody is the code interpreter's request; absent options are sent
// as null, as the SDKs do.
type executeBody struct {
	Code      string            `json:"code"`
	ContextID *string           `json:"context_id"`
	Language  *string           `json:"language"`
	EnvVars   map[string]string `json:"env_vars"`
}

// Execute runs code on the sandbox's code interpreter (POST /execute on
// port 49999) and returns what it produced. Output lines are decoded as
// they arrive and the callbacks of opts fire on the calling goroutine in
// stream order, before Execute returns.
//
// A failure of the code itself is Execution.Error with a nil error. The
// errors are:
//   - *recovery.InvalidInputError: empty code, a negative timeout, both a
//     context and a language; nothing is sent;
//   - *recovery.TimeoutError (Op "e2b execution", matches
//     recovery.ErrTimeout): the execution ran past its timeout
//     (opts.Timeout, else [WithTimeout], else 300 s); not retryable;
//   - *RequestTimeoutError: no response headers within the request
//     timeout;
//   - *InterruptedExecutionError: the stream stopped before its end (the
//     partial execution is attached);
//   - *ProtocolError: a malformed line, or one longer than the maximum;
//   - the status errors (*SandboxUnavailableError for a 502, ...);
//   - the caller's context error, wrapped, when ctx ends first: the stream
//     is closed, and E2B then interrupts the kernel.
//
// Cost beyond the network: one JSON encoding of the request, one pass
// over each line, an allocation per output chunk or result kept, none per
// keepalive line.
func (s *Sandbox) Execute(ctx context.Context, code string, opts ExecuteOptions) (exec *sandbox.Execution, err error) {
	if strings.TrimSpace(code) == "" {
		return nil, &recovery.InvalidInputError{Field: "code", Reason: "code is empty"}
	}
	if opts.Timeout < 0 {
		return nil, &recovery.InvalidInputError{Field: "timeout", Reason: fmt.Sprintf("%s is negative", opts.Timeout)}
	}
	lang := normalizeLanguage(opts.Language)
	if opts.ContextID != "" && lang != "" {
		return nil, &recovery.InvalidInputError{Field: "language", Reason: "a context and a language cannot both be given (the context has its language)"}
	}
	c := s.client
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = c.cfg.execTimeout
	}
	attrs := []attribute.KeyValue{
		attribute.String(observability.AttrSandboxID, s.ID),
		attribute.Int(observability.AttrCodeLength, len(code)),
	}
	if opts.ContextID != "" {
		attrs = append(attrs, attribute.String(observability.AttrE2BContextID, opts.ContextID))
	}
	ctx, span := c.telemetry().StartSpan(ctx, observability.SpanE2BExecute, attrs...)
	var dec *streamDecoder
	defer func() {
		if span != nil && dec != nil {
			span.SetAttributes(attribute.Int(observability.AttrE2BStreamLines, dec.lines),
				attribute.Int(observability.AttrE2BExecutionCount, dec.exec.ExecutionCount))
		}
		observability.End(span, err)
	}()

	body := executeBody{Code: code, EnvVars: opts.Env}
	if opts.ContextID != "" {
		body.ContextID = &opts.ContextID
	}
	if lang != "" {
		body.Language = &lang
	}
	xctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	execTimer := time.AfterFunc(timeout, func() { cancel(errExecTimeout) })
	defer execTimer.Stop()
	headerTimer := time.AfterFunc(c.cfg.requestTimeout, func() { cancel(errHeaderTimeout) })
	cl := s.dataCall("execute", http.MethodPost, "/execute", body, "context", opts.ContextID)
	resp, err := c.send(xctx, cl)
	headerTimer.Stop()
	if err != nil {
		return nil, s.streamError(ctx, xctx, timeout, err, nil)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if rerr != nil {
			return nil, s.streamError(ctx, xctx, timeout, rerr, nil)
		}
		return nil, c.responseError(cl, resp, raw)
	}
	dec = newStreamDecoder(resp.Body, c.cfg.maxLineSize, &opts.RunOptions)
	if err := dec.run(); err != nil {
		return nil, s.streamError(ctx, xctx, timeout, err, dec)
	}
	// Let the connection be reused: the server closes the stream right
	// after end_of_execution, so little or nothing is left to read. A
	// server that keeps it open does not hold the result back: the read
	// is cut after a short grace.
	execTimer.Stop()
	drain := time.AfterFunc(drainGrace, func() { cancel(errDrained) })
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	drain.Stop()
	return dec.exec, nil
}

// streamError maps the failure of an execution request or stream.
func (s *Sandbox) streamError(callerCtx, xctx context.Context, timeout time.Duration, err error, dec *streamDecoder) error {
	switch cause := context.Cause(xctx); {
	case errors.Is(cause, errExecTimeout):
		return executionTimeout(timeout)
	case errors.Is(cause, errHeaderTimeout):
		return &RequestTimeoutError{Op: "execute", After: s.client.cfg.requestTimeout}
	case callerCtx.Err() != nil:
		return fmt.Errorf("e2b: execute: %w", context.Cause(callerCtx))
	}
	switch {
	case errors.Is(err, errMalformed):
		return &ProtocolError{Op: "execute", Message: fmt.Sprintf("malformed line %d of the execution stream", dec.lines)}
	case errors.Is(err, ErrLineTooLong):
		return &ProtocolError{Op: "execute", Message: fmt.Sprintf("line %d of the execution stream is longer than %d bytes", dec.lines+1, s.client.cfg.maxLineSize), Err: ErrLineTooLong}
	}
	if dec == nil {
		return fmt.Errorf("e2b: execute: %w", s.client.redactErr(err))
	}
	ie := &InterruptedExecutionError{SandboxID: s.ID, Partial: dec.exec}
	if !errors.Is(err, io.EOF) {
		ie.Err = s.client.redactErr(err)
	}
	if e := dec.lastError; e != nil && isSyntheticError(e.Name) {
		ie.Name, ie.Value = e.Name, e.Value
	}
	return ie
}

// isSyntheticError reports the error names the code interpreter sends when
// it ends an execution itself.
func isSyntheticError(name string) bool {
	switch name {
	case "UnexpectedEndOfExecution", "WebSocketError", "ContextRestarting", "ExecutionAborted":
		return true
	}
	return false
}
