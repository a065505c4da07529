package observability

// Names used by the MCP server (cmd/sandbox-mcp and internal/mcpserver).
// Metric names are given as a Prometheus scrape shows them.
const (
	// SpanMCPToolCall is the span of one MCP tool call, parent of the
	// code_execution.execute span of the cell the call runs.
	SpanMCPToolCall = "mcp.tool_call"
	// AttrMCPTool names the tool called (run_code, write_file, ...).
	AttrMCPTool = "mcp.tool"
	// AttrMCPOutcome is how a tool call ended: ok, tool_error (an error
	// result the model reads) or canceled.
	AttrMCPOutcome = "mcp.outcome"
	// MetricMCPToolCalls counts tool calls by mcp.tool and mcp.outcome.
	MetricMCPToolCalls = "mcp_tool_calls_total"
	// MetricMCPToolDuration is the duration of tool calls in seconds, by
	// mcp.tool.
	MetricMCPToolDuration = "mcp_tool_call_duration_seconds"
	// MetricMCPSessions is the number of MCP sessions holding a sandbox.
	MetricMCPSessions = "mcp_sandbox_sessions"
)

// Values of AttrMCPOutcome.
const (
	MCPOutcomeOK        = "ok"
	MCPOutcomeToolError = "tool_error"
	MCPOutcomeCanceled  = "canceled"
)
