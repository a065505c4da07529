package refine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// Loop is the generate → execute → fix primitive built by [New]: a
// primitives.Primitive[string, Result] from a requirement to working code.
//
// A Loop holds no state between runs; it is safe for concurrent use when
// its generator, executor and validator are. Its own cost per attempt,
// beyond generation and execution, is a few microseconds, most of it
// copying the end of a failed attempt's output into the history
// (BenchmarkLoopPerAttempt).
type Loop struct {
	gen       primitives.Primitive[Request, Generation]
	exec      primitives.Primitive[sandbox.CodeInput, sandbox.CodeOutput]
	validate  primitives.Primitive[sandbox.CodeOutput, Verdict]
	max       int
	budget    int64
	tests     string
	input     sandbox.CodeInput
	limit     int
	telemetry observability.Providers
}

var _ primitives.Primitive[string, Result] = (*Loop)(nil)

type config struct {
	maxAttempts   int
	budget        int64
	tests         string
	validate      primitives.Primitive[sandbox.CodeOutput, Verdict]
	input         sandbox.CodeInput
	feedbackLimit int
	telemetry     observability.Providers
}

// New returns a loop that asks gen for code, runs it on exec and judges
// the output, up to [MaxAttempts] times (default 3), until an attempt
// passes. Without [Validate] or [Tests] an attempt passes when its
// execution succeeds. It panics when gen, exec or an option is nil, or an
// option is not an option of this package.
func New(gen primitives.Primitive[Request, Generation], exec primitives.Primitive[sandbox.CodeInput, sandbox.CodeOutput], opts ...Option) *Loop {
	if primitives.IsNil(gen) {
		panic("refine: New: generator is nil")
	}
	if primitives.IsNil(exec) {
		panic("refine: New: executor is nil")
	}
	c := config{maxAttempts: DefaultMaxAttempts, feedbackLimit: DefaultFeedbackLimit}
	for i, o := range opts {
		switch o := o.(type) {
		case option:
			o(&c)
		case observability.Option:
			o.ApplyTo(&c.telemetry)
		case nil:
			panic(fmt.Sprintf("refine: New: option %d is nil", i))
		default:
			panic(fmt.Sprintf("refine: New: option %d (%T) is not an option of this package", i, o))
		}
	}
	tests := c.tests
	if strings.TrimSpace(tests) == "" {
		tests = ""
	}
	return &Loop{
		gen: gen, exec: exec, validate: c.validate,
		max: c.maxAttempts, budget: c.budget, tests: tests,
		input: c.input, limit: c.feedbackLimit, telemetry: c.telemetry,
	}
}

// MaxAttempts returns the loop's attempt limit.
func (l *Loop) MaxAttempts() int { return l.max }

// Execute runs attempts until one passes. It returns:
//   - the context's cause, when the context is done before a generation
//     or an execution starts;
//   - a Result with the working code, its output, the attempts used, the
//     tokens reported and the failed attempts before it;
//   - the generator's, executor's or validator's Go error as it is (an
//     infrastructure failure is not an attempt), except the executor's
//     errors that are the code's fault: a timeout, a sandbox limit
//     (*sandbox.LimitError) and a crash (sandbox.ErrCrashed), each a
//     failed attempt while the context is live;
//   - an *ExhaustedError carrying every attempt when MaxAttempts or the
//     TokenBudget run out.
func (l *Loop) Execute(ctx context.Context, requirement string) (Result, error) {
	start := time.Now()
	ctx, span := l.telemetry.StartSpan(ctx, observability.SpanRefinement,
		attribute.Int(observability.AttrRefinementMaxAttempts, l.max))
	r := run{l: l, span: span}
	if span != nil {
		defer r.endOnPanic()
	}
	res, err := r.loop(ctx, requirement)
	r.finish(ctx, res, err, start)
	return res, err
}

// run is the state of one Execute.
type run struct {
	l        *Loop
	span     trace.Span // the loop's span, nil when tracing is off
	attempt  trace.Span // the current attempt's span
	history  []Attempt
	usage    Usage
	n        int // the current attempt's number
	started  int // attempts started (a done context stops one from starting)
	stop     Stop
	finished bool
}

func (r *run) loop(ctx context.Context, requirement string) (Result, error) {
	l := r.l
	for r.n = 1; ; r.n++ {
		if err := cause(ctx); err != nil {
			return Result{}, err
		}
		r.started = r.n
		actx := ctx
		if r.span != nil {
			actx, r.attempt = l.telemetry.StartSpan(ctx, observability.Indexed(observability.SpanRefinementIteration, r.n),
				attribute.Int(observability.AttrRefinementAttempt, r.n))
		}
		att, out, err := r.try(actx, requirement)
		r.usage = r.usage.Add(att.Usage)
		r.endAttempt(att, err)
		if err != nil {
			return Result{}, err
		}
		if att.Reason == "" {
			return Result{Code: att.Code, Output: out, Attempts: r.n, Usage: r.usage, History: r.history}, nil
		}
		r.history = append(r.history, att)
		switch {
		case r.n >= l.max:
			r.stop = StopMaxAttempts
		case l.budget > 0 && r.usage.Total() >= l.budget:
			r.stop = StopTokenBudget
		default:
			continue
		}
		return Result{}, &ExhaustedError{Stop: r.stop, Attempts: r.n, Usage: r.usage, History: r.history}
	}
}

// try runs attempt r.n. A passing attempt has an empty Reason.
func (r *run) try(ctx context.Context, requirement string) (Attempt, sandbox.CodeOutput, error) {
	l := r.l
	req := Request{Requirement: requirement, Tests: l.tests, Attempt: r.n, History: r.history[:len(r.history):len(r.history)]}
	if l.budget > 0 {
		req.TokensLeft = l.budget - r.usage.Total()
	}
	gen, err := l.gen.Execute(ctx, req)
	att := Attempt{Number: r.n, Code: gen.Code, Usage: gen.Usage}
	if err != nil {
		return att, sandbox.CodeOutput{}, err
	}
	if strings.TrimSpace(gen.Code) == "" {
		att.Reason = "the reply contained no Python code"
		return att, sandbox.CodeOutput{}, nil
	}
	if err := cause(ctx); err != nil {
		return att, sandbox.CodeOutput{}, err
	}
	in := l.input
	in.Code = gen.Code
	if l.tests != "" {
		in.Code = gen.Code + "\n\n" + l.tests
	}
	out, err := l.exec.Execute(ctx, in)
	if err != nil {
		if ctx.Err() != nil {
			return att, out, err
		}
		var limit *sandbox.LimitError
		switch {
		case errors.Is(err, recovery.ErrTimeout):
			// The code ran past its time limit: the code's failure.
			att.Reason = "TimeoutError: the code did not finish within its time limit"
			var te *recovery.TimeoutError
			if errors.As(err, &te) && te.After > 0 {
				att.Reason += " of " + te.After.String()
			}
			return att, sandbox.CodeOutput{}, nil
		case errors.As(err, &limit):
			// The code went over a limit of its sandbox (a memory bomb):
			// the code's failure, and the same code would again.
			att.Reason = limitReason(limit)
		case errors.Is(err, sandbox.ErrCrashed):
			// The code ended its interpreter (os._exit, a fatal signal):
			// the code's failure; the executor replaces the sandbox.
			att.Reason = crashReason(err)
		default:
			return att, out, err
		}
		att.Reason = head(att.Reason, l.limit)
		att.Output = clipOutput(out, l.limit)
		return att, out, nil
	}
	switch {
	case !out.Success:
		att.Reason = out.Error
		if att.Reason == "" {
			att.Reason = "the code failed"
		}
	case l.validate != nil:
		v, err := l.validate.Execute(ctx, out)
		if err != nil {
			return att, out, err
		}
		if !v.OK {
			att.Reason = v.Reason
			if att.Reason == "" {
				att.Reason = "the validator refused the output"
			}
		}
	}
	if att.Reason != "" {
		att.Reason = head(att.Reason, l.limit)
		att.Output = clipOutput(out, l.limit)
	}
	return att, out, nil
}

// limitReason says, for the next generation, which limit of its sandbox
// the code went over.
func limitReason(e *sandbox.LimitError) string {
	if e.Resource == "memory" {
		return fmt.Sprintf("MemoryError: the code used more memory than its sandbox allows (%.1f MiB) and was stopped after its processes held %.1f MiB",
			float64(e.Limit)/(1<<20), float64(e.Used)/(1<<20))
	}
	return "LimitError: the code went over its sandbox's " + e.Resource + " limit and was stopped"
}

// crashReason says, for the next generation, that the code ended its
// interpreter, with how it ended as the sandbox reported it.
func crashReason(err error) string {
	how := err.Error()
	if ce, ok := errors.AsType[*sandbox.CrashError](err); ok {
		how = ce.Reason
	}
	return "Crash: the Python process died before the code finished (os._exit, a fatal signal, a killed interpreter): " + how
}

// endAttempt ends the current attempt's span.
func (r *run) endAttempt(att Attempt, err error) {
	span := r.attempt
	if span == nil {
		return
	}
	r.attempt = nil
	attrs := []attribute.KeyValue{
		attribute.Bool(observability.AttrSuccess, err == nil && att.Reason == ""),
		attribute.Int(observability.AttrCodeLength, len(att.Code)),
		attribute.Int64(observability.AttrRefinementTokens, att.Usage.Total()),
	}
	if att.Output.ErrorName != "" {
		attrs = append(attrs, attribute.String(observability.AttrErrorName, att.Output.ErrorName))
	}
	span.SetAttributes(attrs...)
	observability.End(span, err)
}

// finish ends the loop's span, records the metrics and, when a logger was
// given, writes the log record: Debug for a success, as the module's
// per-operation records are, Warn for a failure.
func (r *run) finish(ctx context.Context, res Result, err error, start time.Time) {
	r.finished = true
	if r.span != nil {
		attrs := []attribute.KeyValue{
			attribute.Bool(observability.AttrSuccess, err == nil),
			attribute.Int(observability.AttrRefinementIterations, r.started),
			attribute.Int64(observability.AttrRefinementTokens, r.usage.Total()),
		}
		if r.stop != "" {
			attrs = append(attrs, attribute.String(observability.AttrRefinementStop, string(r.stop)))
		}
		r.span.SetAttributes(attrs...)
		observability.End(r.span, err)
	}
	r.record(ctx, err)
	// Only a logger given with observability.WithLogger gets the record:
	// a library writes nothing unasked, slog.Default included.
	logger := r.l.telemetry.Logger
	if logger == nil {
		return
	}
	level := slog.LevelDebug
	if err != nil {
		level = slog.LevelWarn
	}
	if !logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.Bool(observability.AttrSuccess, err == nil),
		slog.Int(observability.AttrRefinementIterations, r.started),
		slog.Int64(observability.AttrRefinementTokens, r.usage.Total()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
	}
	if r.stop != "" {
		attrs = append(attrs, slog.String(observability.AttrRefinementStop, string(r.stop)))
	}
	if err != nil && r.stop == "" {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	observability.Log(ctx, logger, level, "refinement", attrs...)
}

// endOnPanic ends the open spans when a step panics; the panic goes on.
func (r *run) endOnPanic() {
	if r.finished {
		return
	}
	for _, s := range []trace.Span{r.attempt, r.span} {
		if s != nil {
			s.SetStatus(codes.Error, "panic")
			s.End()
		}
	}
}

// clipOutput keeps the first limit bytes of the error and its value and
// the last limit bytes of the streams and the traceback (where the error
// is named), and drops the results.
func clipOutput(out sandbox.CodeOutput, limit int) sandbox.CodeOutput {
	out.Results = nil
	out.Error, out.ErrorValue = head(out.Error, limit), head(out.ErrorValue, limit)
	for _, s := range []*string{&out.Logs, &out.Stdout, &out.Stderr, &out.Traceback} {
		*s = tail(*s, limit)
	}
	return out
}

// head returns the first limit bytes of s (ending on a rune boundary)
// followed by a note of how much was cut, or s when it is short enough.
func head(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + fmt.Sprintf(" [... %d bytes cut]", len(s)-i)
}

// tail returns the last limit bytes of s (starting on a rune boundary)
// after a line saying how much was cut, or s when it is short enough.
func tail(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	i := len(s) - limit
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return fmt.Sprintf("[... %d bytes cut]\n", i) + s[i:]
}

// cause returns the reason ctx is done, preferring the cancellation cause.
func cause(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	if c := context.Cause(ctx); c != nil {
		return c
	}
	return ctx.Err()
}
