package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
)

// PrimitiveName is the value of the "primitive" attribute of the log
// records of [CodeExecution], TTA.dev's name.
const PrimitiveName = "CodeExecutionPrimitive"

// backstopGrace is how long past its timeout an execution may take before
// CodeExecution stops waiting for a backend that failed to enforce it.
var backstopGrace = 5 * time.Second

// CodeExecution is TTA.dev's code-execution primitive over any
// [Provider]: a primitives.Primitive[CodeInput, CodeOutput] that runs
// CodeInput.Code in a sandbox from its [Pool] and returns what it printed,
// its results and its error.
//
// A failure of the user's code (a SyntaxError, an exception, a failing
// assert) is a result: Success is false, Error says "Name: value", and the
// Go error is nil. A failure of the infrastructure is a Go error: an
// *recovery.InvalidInputError for empty code or a negative timeout (before
// any sandbox is used); an error matching recovery.ErrTimeout (not
// retryable: the same code would time out again) when the code runs past
// its timeout, after which its sandbox is replaced; a *LimitError (not
// retryable) when the code went over a limit of its whole sandbox, such as
// the local sandbox's memory budget; a *CreateError, a *CrashError or the
// backend's own error otherwise, each telling recovery.IsRetryable
// whether another attempt could succeed.
//
// Every execution reports a span code_execution.execute with children
// code_execution.sandbox_init (when a sandbox was created for it) and
// code_execution.code_run, the metrics code_execution_requests_total,
// code_execution_success_total, code_execution_error_total and
// code_execution_duration_seconds, and a log record (Debug unless
// [LogExecutions] says otherwise) with primitive, correlation_id, success,
// execution_time_ms and code_length.
//
// A CodeExecution is safe for concurrent use; executions run in parallel
// up to the pool's bound. Its cost on top of the sandbox's own run is a
// few microseconds. Close it to close its sandboxes.
type CodeExecution struct {
	ownProvider bool
	logLevel    slog.Level
	pool        *Pool
	provider    string
	timeout     time.Duration
	maxOutput   int
	telemetry   observability.Providers
	attrs       codeAttrs
}

var _ primitives.Primitive[CodeInput, CodeOutput] = (*CodeExecution)(nil)

// NewCodeExecution returns the primitive over p with TTA.dev's defaults:
// a 30 s timeout, 10,000 characters of output per stream, no network in
// the sandboxes (see [WithPipInstall]), and a stateless pool of warm
// sandboxes rotated after 3300 s. Nothing is created until the first
// execution. A nil provider or nil option panics, as do invalid option
// values (see each option).
//
// Invariants (docs/architecture.md): all hold. A done context returns its
// cause before a sandbox is acquired; a cancelled execution is counted as
// canceled from the caller's context, whatever error the backend returns;
// the backend's errors keep their retry verdicts through *RunError; a
// backend that panics has its sandbox discarded (the pool's slot is kept)
// and the panic goes on to the caller.
func NewCodeExecution(p Provider, opts ...CodeOption) *CodeExecution {
	if p == nil {
		panic("sandbox: NewCodeExecution: provider is nil")
	}
	cc := codeConfig{timeout: DefaultTimeout, maxOutput: DefaultMaxOutputSize, logLevel: slog.LevelDebug}
	for i, o := range opts {
		switch o := o.(type) {
		case codeOption:
			o(&cc)
		case poolOption:
			cc.pool = append(cc.pool, o)
		case observability.Option:
			cc.pool = append(cc.pool, o)
		case nil:
			panic(fmt.Sprintf("sandbox: NewCodeExecution: option %d is nil", i))
		default:
			panic(fmt.Sprintf("sandbox: NewCodeExecution: option %d (%T) is not an option of this package", i, o))
		}
	}
	pc := defaultPoolConfig(p)
	applyPoolOptions("NewCodeExecution", &pc, cc.pool)
	if cc.templateSet {
		pc.create.Template = cc.template
	}
	if cc.internetSet {
		pc.create.AllowInternet = cc.allowInternet
	}
	cc.applyPackageIndex(&pc.create)
	return &CodeExecution{
		ownProvider: cc.ownProvider,
		logLevel:    cc.logLevel,
		pool:        newPool(p, pc),
		provider:    p.Name(),
		timeout:     cc.timeout,
		maxOutput:   cc.maxOutput,
		telemetry:   pc.telemetry,
		attrs:       newCodeAttrs(p.Name()),
	}
}

// Pool returns the primitive's pool, for its statistics or to lease a
// sandbox directly.
func (c *CodeExecution) Pool() *Pool { return c.pool }

// Close closes the primitive's pool (see [Pool.Close]) and, with
// [OwnProvider], its provider; later executions fail with [ErrClosed].
func (c *CodeExecution) Close(ctx context.Context) error {
	err := c.pool.Close(ctx)
	if !c.ownProvider {
		return err
	}
	switch p := c.pool.provider.(type) {
	case interface{ Close(context.Context) error }:
		err = errors.Join(err, p.Close(ctx))
	case interface{ Close() error }:
		err = errors.Join(err, p.Close())
	}
	return err
}

// Execute runs in.Code in a sandbox and returns its output. See
// [CodeExecution] for how failures are reported.
func (c *CodeExecution) Execute(ctx context.Context, in CodeInput) (CodeOutput, error) {
	start := time.Now()
	ctx, span := c.telemetry.StartSpan(ctx, observability.SpanCodeExecution,
		attribute.String(observability.AttrPrimitive, PrimitiveName),
		attribute.String(observability.AttrSandboxProvider, c.provider),
		attribute.Int(observability.AttrCodeLength, len(in.Code)))

	out, err := c.execute(ctx, in, start)

	out.ExecutionTimeMS = msSince(start)
	errorType := ""
	switch {
	case err != nil:
		errorType = classify(ctx, err)
	case !out.Success:
		errorType = observability.ErrorTypeUserCode
	}
	if span != nil {
		attrs := []attribute.KeyValue{
			attribute.Bool(observability.AttrSuccess, err == nil && out.Success),
			attribute.Float64(observability.AttrExecutionTimeMS, out.ExecutionTimeMS),
		}
		if out.SandboxID != "" {
			attrs = append(attrs, attribute.String(observability.AttrSandboxID, out.SandboxID))
		}
		if errorType != "" {
			attrs = append(attrs, attribute.String(observability.AttrErrorType, errorType))
		}
		if out.ErrorName != "" {
			attrs = append(attrs, attribute.String(observability.AttrErrorName, out.ErrorName))
		}
		if out.Truncated {
			attrs = append(attrs, attribute.Bool(observability.AttrOutputTruncated, true))
		}
		span.SetAttributes(attrs...)
		observability.End(span, err)
	}
	c.record(ctx, time.Since(start).Seconds(), errorType)
	c.log(ctx, in, out, err, errorType)
	return out, err
}

func (c *CodeExecution) execute(ctx context.Context, in CodeInput, start time.Time) (CodeOutput, error) {
	if strings.TrimSpace(in.Code) == "" {
		return CodeOutput{}, &recovery.InvalidInputError{Field: "code", Reason: "is empty"}
	}
	if in.Timeout < 0 {
		return CodeOutput{}, &recovery.InvalidInputError{Field: "timeout", Reason: fmt.Sprintf("%s is negative", in.Timeout)}
	}
	if in.Timeout > 0 && in.Timeout < time.Millisecond {
		// CodeInput{Timeout: 60} compiles and means 60 ns.
		return CodeOutput{}, &recovery.InvalidInputError{Field: "timeout",
			Reason: fmt.Sprintf("%s is below a millisecond; a time.Duration counts nanoseconds (did you mean %d*time.Second?)", in.Timeout, int64(in.Timeout))}
	}
	timeout := c.timeout
	if in.Timeout > 0 {
		timeout = in.Timeout
	}

	lease, err := c.pool.Acquire(ctx)
	if err != nil {
		return CodeOutput{}, err
	}
	// A backend that panics does not take the pool's slot with it: the
	// sandbox is discarded and the panic goes on (the module's policy).
	// After Release this does nothing.
	defer lease.Discard()
	runCtx, span := c.telemetry.StartSpan(ctx, observability.SpanCodeRun,
		attribute.String(observability.AttrSandboxID, lease.ID()),
		attribute.Bool(observability.AttrSandboxCreated, lease.created))
	// Backstop in case the backend does not enforce the timeout itself.
	runCtx, cancel := context.WithTimeout(runCtx, timeout+backstopGrace)
	lang := strings.ToLower(strings.TrimSpace(in.Language))
	exec, err := lease.Run(runCtx, in.Code, RunOptions{Timeout: timeout, Env: in.Env, Language: lang})
	backstop := runCtx.Err() != nil && ctx.Err() == nil
	cancel()
	lease.Release()
	if err != nil {
		if backstop && !errors.Is(err, recovery.ErrTimeout) {
			err = &recovery.TimeoutError{Op: "code execution", After: timeout, Err: err}
		}
		err = &RunError{Provider: c.provider, SandboxID: lease.ID(), Err: err}
		observability.End(span, err)
		out := CodeOutput{}
		if exec != nil { // what the code printed before it timed out, crashed or was cancelled
			out = c.output(exec)
			out.Success = false
		}
		out.SandboxID = lease.ID()
		return out, err
	}
	out := c.output(exec)
	out.SandboxID = lease.ID()
	if span != nil {
		span.SetAttributes(attribute.Bool(observability.AttrSuccess, out.Success))
		observability.End(span, nil)
	}
	return out, nil
}

// output converts an Execution, cutting every text at the maximum size.
func (c *CodeExecution) output(exec *Execution) CodeOutput {
	out := CodeOutput{Success: exec.Error == nil, ExecutionCount: exec.ExecutionCount}
	stdout, stderr, logs := newBoundedText(c.maxOutput), newBoundedText(c.maxOutput), newBoundedText(c.maxOutput)
	for _, m := range exec.Stdout {
		stdout.add(m.Text)
		logs.add(m.Text)
	}
	for _, m := range exec.Stderr {
		stderr.add(m.Text)
		logs.add(m.Text)
	}
	out.Stdout, out.Stderr, out.Logs = stdout.String(), stderr.String(), logs.String()
	cut := stdout.truncated() || stderr.truncated() || logs.truncated()
	if len(exec.Results) > 0 {
		out.Results = make([]Result, len(exec.Results))
		for i, r := range exec.Results {
			var t bool
			r.Text, t = truncate(r.Text, c.maxOutput)
			cut = cut || t
			out.Results[i] = r
		}
	}
	if e := exec.Error; e != nil {
		var t1, t2 bool
		out.ErrorName = e.Name
		out.ErrorValue, t1 = truncate(e.Value, c.maxOutput)
		out.Traceback, t2 = truncate(e.Traceback, c.maxOutput)
		cut = cut || t1 || t2
		out.Error = ExecutionError{Name: out.ErrorName, Value: out.ErrorValue}.String()
		if out.Error == "" {
			out.Error = "error"
		}
	}
	out.Truncated = cut
	return out
}

// classify names the kind of infrastructure failure err is. Whether the
// caller gave up is read from the caller's context, not from the error's
// shape: a context cancelled with a cause (a Parallel sibling's failure)
// makes the backend return that cause, in any shape.
func classify(ctx context.Context, err error) string {
	var bad *recovery.InvalidInputError
	switch {
	case errors.As(err, &bad):
		return observability.ErrorTypeInvalidInput
	case ctx.Err() != nil:
		return observability.ErrorTypeCanceled
	case errors.Is(err, recovery.ErrTimeout):
		return observability.ErrorTypeTimeout
	}
	return observability.ErrorTypeSandbox
}

func (c *CodeExecution) log(ctx context.Context, in CodeInput, out CodeOutput, err error, errorType string) {
	logger := c.telemetry.Log()
	level := c.logLevel
	if !logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String(observability.AttrPrimitive, PrimitiveName),
		slog.Bool(observability.AttrSuccess, err == nil && out.Success),
		slog.Float64(observability.AttrExecutionTimeMS, out.ExecutionTimeMS),
		slog.Int(observability.AttrCodeLength, len(in.Code)),
		slog.String(observability.AttrSandboxProvider, c.provider),
	}
	if out.SandboxID != "" {
		attrs = append(attrs, slog.String(observability.AttrSandboxID, out.SandboxID))
	}
	if errorType != "" {
		attrs = append(attrs, slog.String(observability.AttrErrorType, errorType))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	observability.Log(ctx, logger, level, "code execution", attrs...)
}

// RunError reports an infrastructure failure while running code on a
// sandbox (a timeout, a crash, a lost connection). It unwraps to the
// backend's error, so errors.Is(err, recovery.ErrTimeout), errors.As with
// *CrashError and recovery.IsRetryable see through it.
type RunError struct {
	Provider  string
	SandboxID string
	Err       error
}

// Error describes the failed run.
func (e *RunError) Error() string {
	return fmt.Sprintf("sandbox: running code on %s sandbox %s: %v", e.Provider, e.SandboxID, e.Err)
}

// Unwrap returns the backend's error.
func (e *RunError) Unwrap() error { return e.Err }
