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
//     context and a language, a per-run variable (opts.Env) holding a
//     quote, a backslash or a line break, which E2B's server would paste
//     into Python source unescaped; nothing is sent;
//   - *recovery.TimeoutError (Op "e2b execution", matches
//     recovery.ErrTimeout): the execution ran past its timeout
//     (opts.Timeout, else [WithTimeout], else 300 s); not retryable;
//   - *RequestTimeoutError: no response headers within the request
//     timeout;
//   - *StateLostError: the code interpreter lost the context's kernel
//     during the run (its synthetic ContextRestarting, or WebSocketError
//     and UnexpectedEndOfExecution lines); the context's state is gone;
//   - *InterruptedExecutionError: the stream stopped before its end (the
//     partial execution is attached);
//   - *sandbox.UnsupportedLanguageError: the code interpreter has no
//     kernel for opts.Language (not retryable; the sandbox is fine);
//   - *ProtocolError: a malformed line, or one longer than the maximum;
//   - the status errors (*SandboxUnavailableError for a 502, ...);
//   - the caller's context error, wrapped, when ctx ends first: the stream
//     is closed, and E2B then interrupts the kernel.
//
// When an execution of this handle was cut short on the client's side (a
// timeout, a cancelled ctx, a dropped stream), E2B's server may release
// the context before its interrupt lands, and the kernel then aborts the
// next request without the server noticing, which would hang until the
// timeout. So the next Execute on the same context restarts that context
// first (POST /contexts/{id}/restart, about a second on E2B; a default
// context is found with GET /contexts): its state is lost, as it would
// have been after the timeout anyway for a stateful caller that cannot
// know what ran.
//
// Cost beyond the network: one JSON encoding of the request, one pass
// over each line, an allocation per output chunk or result kept, none per
// keepalive line.
func (s *Sandbox) Execute(ctx context.Context, code string, opts ExecuteOptions) (exec *sandbox.Execution, err error) {
	if strings.TrimSpace(code) == "" {
		return nil, mark(&recovery.InvalidInputError{Field: "code", Reason: "code is empty"})
	}
	if opts.Timeout < 0 {
		return nil, mark(&recovery.InvalidInputError{Field: "timeout", Reason: fmt.Sprintf("%s is negative", opts.Timeout)})
	}
	if opts.OnHostCall != nil {
		// Code in an E2B sandbox reaches the host only through the
		// network, which this client does not open to it.
		return nil, mark(&sandbox.UnsupportedError{Backend: "e2b", Feature: "calls from code to the host (RunOptions.OnHostCall)", Err: sandbox.ErrHostCallsUnsupported})
	}
	for k, v := range opts.Env {
		if strings.ContainsAny(k, unsafeEnvChars) || strings.ContainsAny(v, unsafeEnvChars) {
			return nil, mark(&recovery.InvalidInputError{Field: "env", Reason: fmt.Sprintf(
				"variable %q: E2B's code interpreter pastes per-run variables into Python source unescaped, so a quote, backslash or line break would break the run or change the value; set it on the sandbox (CreateParams.EnvVars) instead", k)})
		}
	}
	lang := normalizeLanguage(opts.Language)
	if opts.ContextID != "" && lang != "" {
		return nil, mark(&recovery.InvalidInputError{Field: "language", Reason: "a context and a language cannot both be given (the context has its language)"})
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

	// An execution this handle cut short may have left the context's
	// kernel aborting the next request unseen by the server: restart
	// that context first rather than hang until the timeout.
	if err := s.restartIfCut(ctx, opts.ContextID, lang); err != nil {
		return nil, err
	}
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
	cl.language = lang
	resp, err := c.send(xctx, cl)
	headerTimer.Stop()
	if err != nil {
		if context.Cause(xctx) != nil {
			// The request may have reached the server before we gave up.
			s.markCut(opts.ContextID, lang)
		}
		return nil, s.streamError(ctx, xctx, timeout, err, nil, opts.ContextID)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if rerr != nil {
			return nil, s.streamError(ctx, xctx, timeout, rerr, nil, opts.ContextID)
		}
		return nil, c.responseError(cl, resp, raw)
	}
	dec = newStreamDecoder(resp.Body, c.cfg.maxLineSize, &opts.RunOptions)
	if err := dec.run(); err != nil {
		if dec.synthetic == nil {
			s.markCut(opts.ContextID, lang)
		}
		return nil, s.streamError(ctx, xctx, timeout, err, dec, opts.ContextID)
	}
	// Let the connection be reused: the server closes the stream right
	// after end_of_execution, so little or nothing is left to read. A
	// server that keeps it open does not hold the result back: the read
	// is cut after a short grace.
	execTimer.Stop()
	drain := time.AfterFunc(drainGrace, func() { cancel(errDrained) })
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	drain.Stop()
	if dec.synthetic != nil {
		return nil, s.syntheticError(dec, opts.ContextID, nil)
	}
	return dec.exec, nil
}

// syntheticError maps the code interpreter's own error lines: a lost
// kernel is a *StateLostError, anything else an interrupted execution.
func (s *Sandbox) syntheticError(dec *streamDecoder, contextID string, readErr error) error {
	e := dec.synthetic
	switch e.Name {
	case "ContextRestarting", "WebSocketError", "UnexpectedEndOfExecution":
		return &StateLostError{SandboxID: s.ID, ContextID: contextID, Name: e.Name, Value: e.Value, Partial: dec.exec}
	}
	return &InterruptedExecutionError{SandboxID: s.ID, Name: e.Name, Value: e.Value, Err: readErr, Partial: dec.exec}
}

// unsafeEnvChars are the characters a per-run variable cannot carry
// through E2B's code interpreter, which writes os.environ['k'] = 'v' into
// Python source as is.
const unsafeEnvChars = "'\\\n\r"

// streamError maps the failure of an execution request or stream.
func (s *Sandbox) streamError(callerCtx, xctx context.Context, timeout time.Duration, err error, dec *streamDecoder, contextID string) error {
	switch cause := context.Cause(xctx); {
	case errors.Is(cause, errExecTimeout):
		return executionTimeout(timeout)
	case errors.Is(cause, errHeaderTimeout):
		return &RequestTimeoutError{Op: "execute", After: s.client.cfg.requestTimeout}
	case callerCtx.Err() != nil:
		return wrapf("e2b: execute on E2B sandbox %s: %w", s.ID, context.Cause(callerCtx))
	}
	switch {
	case errors.Is(err, errMalformed):
		return &ProtocolError{Op: "execute", Message: fmt.Sprintf("malformed line %d of the execution stream", dec.lines)}
	case errors.Is(err, ErrLineTooLong):
		return &ProtocolError{Op: "execute", Message: fmt.Sprintf("line %d of the execution stream is longer than %d bytes", dec.lines+1, s.client.cfg.maxLineSize), Err: ErrLineTooLong}
	}
	if dec == nil {
		return wrapf("e2b: execute on E2B sandbox %s: %w", s.ID, s.client.redactErr(err))
	}
	var readErr error
	if !errors.Is(err, io.EOF) {
		readErr = s.client.redactErr(err)
	}
	if dec.synthetic != nil {
		return s.syntheticError(dec, contextID, readErr)
	}
	return &InterruptedExecutionError{SandboxID: s.ID, Partial: dec.exec, Err: readErr}
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
