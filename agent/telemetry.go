package agent

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/observability"
)

// startSpan starts the run's span, "invoke_agent <name>", when tracing is
// on, and returns the context for the turns.
func (r *run) startSpan(ctx context.Context) context.Context {
	cfg := &r.a.cfg
	tracer, ok := cfg.telemetry.Tracer()
	if !ok {
		return ctx
	}
	attrs := []attribute.KeyValue{
		attribute.String(observability.AttrGenAIOperationName, observability.GenAIOperationInvokeAgent),
		attribute.String(observability.AttrGenAIAgentName, cfg.name),
	}
	if cfg.model != "" {
		attrs = append(attrs, attribute.String(observability.AttrGenAIRequestModel, cfg.model))
	}
	if c := observability.CorrelatedFrom(ctx); c != nil {
		attrs = append(attrs, attribute.String(observability.AttrCorrelationID, c.CorrelationID()))
		if w := c.WorkflowID(); w != "" {
			attrs = append(attrs, attribute.String(observability.AttrWorkflowID, w))
		}
	}
	ctx, r.span = tracer.Start(ctx, observability.GenAISpanName(observability.GenAIOperationInvokeAgent, cfg.name),
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	return ctx
}

// startTurn starts the span of turn n under the run's span.
func (r *run) startTurn(ctx context.Context, n int) context.Context {
	if r.span == nil {
		return ctx
	}
	ctx, r.turnSpan = r.a.cfg.telemetry.StartSpan(ctx, observability.AgentTurnSpan(n),
		attribute.Int(observability.AttrAgentTurn, n))
	return ctx
}

// endTurn ends the current turn's span.
func (r *run) endTurn(err error, calls int) {
	span := r.turnSpan
	if span == nil {
		return
	}
	r.turnSpan = nil
	if calls > 0 {
		span.SetAttributes(attribute.Int(observability.AttrAgentToolCalls, calls))
	}
	observability.End(span, err)
}

// startToolSpan starts the span of one tool call, "execute_tool <name>".
func (r *run) startToolSpan(ctx context.Context, c llm.ToolCall, e *entry) (context.Context, trace.Span) {
	if r.span == nil {
		return ctx, nil
	}
	tracer, _ := r.a.cfg.telemetry.Tracer()
	attrs := []attribute.KeyValue{
		attribute.String(observability.AttrGenAIOperationName, observability.GenAIOperationExecuteTool),
		attribute.String(observability.AttrGenAIToolName, c.Name),
		attribute.String(observability.AttrGenAIToolCallID, c.ID),
		attribute.String(observability.AttrGenAIToolType, "function"),
	}
	if c := observability.CorrelatedFrom(ctx); c != nil {
		attrs = append(attrs, attribute.String(observability.AttrCorrelationID, c.CorrelationID()))
	}
	return tracer.Start(ctx, observability.GenAISpanName(observability.GenAIOperationExecuteTool, c.Name),
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
}

// endToolSpan ends a tool call's span and counts the call.
func (r *run) endToolSpan(ctx context.Context, span trace.Span, e *entry, o *outcome) {
	if span != nil {
		if o.errType != "" {
			span.SetAttributes(attribute.String(observability.AttrErrorType, o.errType))
		}
		observability.End(span, o.err)
	}
	set, ok := e.attrs[o.errType]
	if !ok {
		set = e.attrs[observability.ErrorTypeToolInfrastructure]
	}
	instrumentCache.For(r.a.cfg.telemetry.Meter()).toolCalls.Add(ctx, 1, set)
}

// callNotRun reports a call answered without running anything (an
// unknown tool, a denied call): its span and its count.
func (r *run) callNotRun(ctx context.Context, c llm.ToolCall, e *entry, o *outcome) {
	if e == nil {
		e = unknownEntry
	}
	_, span := r.startToolSpan(ctx, c, e)
	r.endToolSpan(ctx, span, e, o)
}

// unknownEntry counts calls of tools the agent does not have, under one
// name, so a model cannot make the metric's cardinality grow.
var unknownEntry = &entry{attrs: toolAttrSets("_OTHER")}

// finish ends the run's span, records the metrics and writes the log
// record.
func (r *run) finish(ctx context.Context, res Result, err error) {
	r.finished = true
	outcome := observability.AgentOutcomeAnswered
	var limit *LimitError
	switch {
	case errors.As(err, &limit):
		outcome = observability.AgentOutcomeLimit
	case err != nil:
		outcome = observability.AgentOutcomeError
	}
	if span := r.span; span != nil {
		attrs := []attribute.KeyValue{
			attribute.Int(observability.AttrAgentTurns, r.turns),
			attribute.Int(observability.AttrAgentToolCalls, len(r.calls)),
			attribute.Int64(observability.AttrGenAIUsageInputTokens, r.usage.InputTokens),
			attribute.Int64(observability.AttrGenAIUsageOutputTokens, r.usage.OutputTokens),
		}
		if r.stop != "" {
			attrs = append(attrs, attribute.String(observability.AttrAgentStop, string(r.stop)))
		}
		span.SetAttributes(attrs...)
		observability.End(span, err)
	}
	inst := instrumentCache.For(r.a.cfg.telemetry.Meter())
	set := outcomeSets[outcome]
	inst.runs.Add(ctx, 1, set)
	inst.turns.Record(ctx, int64(r.turns), set)

	logger := r.a.cfg.telemetry.Logger // quiet unless a logger was given
	level := slog.LevelDebug
	if err != nil {
		level = slog.LevelWarn
	}
	if logger == nil || !logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String(observability.AttrGenAIAgentName, r.a.cfg.name),
		slog.String(observability.AttrAgentOutcome, outcome),
		slog.Int(observability.AttrAgentTurns, r.turns),
		slog.Int(observability.AttrAgentToolCalls, len(r.calls)),
		slog.Int64(observability.AttrGenAIUsageInputTokens, r.usage.InputTokens),
		slog.Int64(observability.AttrGenAIUsageOutputTokens, r.usage.OutputTokens),
		slog.Float64("duration_ms", float64(time.Since(r.start).Microseconds())/1000),
	}
	if r.stop != "" {
		attrs = append(attrs, slog.String(observability.AttrAgentStop, string(r.stop)))
	}
	if err != nil && limit == nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	observability.Log(ctx, logger, level, "agent run", attrs...)
}

// logRelease reports a failure to release what the tools kept for the
// run (closing the sandbox session).
func (r *run) logRelease(ctx context.Context, err error) {
	logger := r.a.cfg.telemetry.Logger
	if logger == nil {
		return
	}
	observability.Log(ctx, logger, slog.LevelWarn, "agent: releasing the run's tool resources failed",
		slog.String(observability.AttrGenAIAgentName, r.a.cfg.name), slog.String("error", err.Error()))
}

// instruments are the agent's metrics, built once per meter.
type instruments struct {
	runs      metric.Int64Counter
	turns     metric.Int64Histogram
	toolCalls metric.Int64Counter
}

var instrumentCache = observability.NewInstrumentCache(func(m metric.Meter) *instruments {
	var inst instruments
	var errs [3]error
	inst.runs, errs[0] = m.Int64Counter(observability.MetricAgentRuns,
		metric.WithDescription("Finished runs of an agent, by agent.outcome (answered, limit, error)."))
	inst.turns, errs[1] = m.Int64Histogram(observability.MetricAgentTurns,
		metric.WithDescription("Turns (model calls) a run of an agent took, by agent.outcome."),
		metric.WithExplicitBucketBoundaries(1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50))
	inst.toolCalls, errs[2] = m.Int64Counter(observability.MetricAgentToolCalls,
		metric.WithDescription("Tool calls made by agents, by gen_ai.tool.name and error.type (absent on success)."))
	for _, err := range errs {
		if err != nil {
			otel.Handle(err) // the API returns usable no-op instruments with the error
		}
	}
	return &inst
})

// outcomeSets holds the attribute set of each run outcome, built once.
var outcomeSets = func() map[string]metric.MeasurementOption {
	m := map[string]metric.MeasurementOption{}
	for _, o := range []string{observability.AgentOutcomeAnswered, observability.AgentOutcomeLimit, observability.AgentOutcomeError} {
		m[o] = metric.WithAttributeSet(attribute.NewSet(attribute.String(observability.AttrAgentOutcome, o)))
	}
	return m
}()

// toolAttrSets builds the attribute sets of a tool's call outcomes: ""
// for a success, then each error.type.
func toolAttrSets(name string) map[string]metric.MeasurementOption {
	m := map[string]metric.MeasurementOption{
		"": metric.WithAttributeSet(attribute.NewSet(attribute.String(observability.AttrGenAIToolName, name))),
	}
	for _, t := range []string{observability.ErrorTypeToolError, observability.ErrorTypeDenied, observability.ErrorTypeUnknownTool,
		observability.ErrorTypePanic, observability.ErrorTypeToolInfrastructure, observability.ErrorTypeCanceled} {
		m[t] = metric.WithAttributeSet(attribute.NewSet(attribute.String(observability.AttrGenAIToolName, name),
			attribute.String(observability.AttrErrorType, t)))
	}
	return m
}
