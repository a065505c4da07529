package observability

// Names of the agent package (a model calling tools in a loop), as the
// OpenTelemetry semantic conventions for generative AI name them where
// they name them: one INTERNAL span per run named "invoke_agent <name>",
// one child span per turn (AgentTurnSpan, not part of the conventions),
// under it the model's own "chat <model>" span and one "execute_tool
// <tool>" span per tool call. GenAISpanName builds the GenAI names.
const (
	// GenAIOperationInvokeAgent is the gen_ai.operation.name of a run.
	GenAIOperationInvokeAgent = "invoke_agent"
	// GenAIOperationExecuteTool is the gen_ai.operation.name of a tool
	// call.
	GenAIOperationExecuteTool = "execute_tool"

	// AttrGenAIAgentName names the agent (agent.Name), on the run span.
	AttrGenAIAgentName = "gen_ai.agent.name"
	// AttrGenAIToolName names the tool called.
	AttrGenAIToolName = "gen_ai.tool.name"
	// AttrGenAIToolCallID is the model's identifier of the call.
	AttrGenAIToolCallID = "gen_ai.tool.call.id"
	// AttrGenAIToolType is the kind of tool: always "function" here.
	AttrGenAIToolType = "gen_ai.tool.type"

	// SpanAgentTurnPrefix is followed by the turn's number (from 1):
	// "agent.turn_1", the span of one model call and the tool calls of
	// its reply.
	SpanAgentTurnPrefix = "agent.turn_"
	// AttrAgentTurn is the number of a turn, on its span.
	AttrAgentTurn = "agent.turn"
	// AttrAgentTurns is the number of turns a run took, on the run span.
	AttrAgentTurns = "agent.turns"
	// AttrAgentToolCalls is the number of tool calls of a turn (on its
	// span) or of a run (on the run span).
	AttrAgentToolCalls = "agent.tool_calls"
	// AttrAgentStop says why a run or a turn ended: one of agent.Stop's
	// values ("end_turn", "max_turns", "token_budget", ...).
	AttrAgentStop = "agent.stop"
	// AttrAgentOutcome is how a run ended, on the agent metrics: see the
	// AgentOutcome* values.
	AttrAgentOutcome = "agent.outcome"

	// MetricAgentRuns counts finished runs by agent.outcome (as a
	// Prometheus scrape shows the name).
	MetricAgentRuns = "agent_runs_total"
	// MetricAgentTurns is the histogram of the turns a run took, by
	// agent.outcome.
	MetricAgentTurns = "agent_turns"
	// MetricAgentToolCalls counts tool calls by gen_ai.tool.name and
	// error.type (absent for a call that succeeded).
	MetricAgentToolCalls = "agent_tool_calls_total"
)

// Values of AttrAgentOutcome.
const (
	// AgentOutcomeAnswered: the model answered without calling tools.
	AgentOutcomeAnswered = "answered"
	// AgentOutcomeLimit: a limit of the run (turns, tokens, time, tool
	// calls per turn) ended it; agent.stop says which.
	AgentOutcomeLimit = "limit"
	// AgentOutcomeError: the model, a tool's infrastructure or the
	// caller's context ended the run with an error.
	AgentOutcomeError = "error"
)

// Values of AttrErrorType on an execute_tool span and on
// MetricAgentToolCalls, beside ErrorTypeCanceled.
const (
	// ErrorTypeToolError: the tool reported a failure of its own (bad
	// arguments, an error it returns on purpose); the model reads it.
	ErrorTypeToolError = "tool_error"
	// ErrorTypeDenied: the approval hook refused the call.
	ErrorTypeDenied = "denied"
	// ErrorTypeUnknownTool: the model called a tool the agent does not
	// have.
	ErrorTypeUnknownTool = "unknown_tool"
	// ErrorTypePanic: the tool panicked; the run ends with a
	// *primitives.PanicError.
	ErrorTypePanic = "panic"
	// ErrorTypeToolInfrastructure: the tool failed for a reason of its
	// infrastructure; the run ends with that error.
	ErrorTypeToolInfrastructure = "infrastructure"
)

// AgentTurnSpan returns "agent.turn_<n>".
func AgentTurnSpan(n int) string { return Indexed(SpanAgentTurnPrefix, n) }
