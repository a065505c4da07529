package mcpserver

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/ttadev/primitives/observability"
)

type instruments struct {
	calls    metric.Int64Counter
	duration metric.Float64Histogram
	sessions metric.Int64UpDownCounter
}

func newInstruments(m metric.Meter) *instruments {
	var inst instruments
	var errs [3]error
	inst.calls, errs[0] = m.Int64Counter(observability.MetricMCPToolCalls,
		metric.WithDescription("MCP tool calls, by tool and outcome (ok, tool_error, canceled)."))
	inst.duration, errs[1] = m.Float64Histogram(observability.MetricMCPToolDuration,
		metric.WithDescription("Duration of MCP tool calls."), metric.WithUnit("s"))
	inst.sessions, errs[2] = m.Int64UpDownCounter(observability.MetricMCPSessions,
		metric.WithDescription("MCP sessions holding a sandbox."))
	for _, err := range errs {
		if err != nil {
			otel.Handle(err) // the API returns usable no-op instruments with the error
		}
	}
	return &inst
}

func (i *instruments) record(ctx context.Context, tool, outcome string, start time.Time) {
	toolAttr := attribute.String(observability.AttrMCPTool, tool)
	i.calls.Add(ctx, 1, metric.WithAttributes(toolAttr, attribute.String(observability.AttrMCPOutcome, outcome)))
	i.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(toolAttr))
}
