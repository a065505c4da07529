// Package agent runs a chat model that calls tools in a loop until it
// answers: an agent as one primitive.
//
//	tools := append(agent.SandboxTools(provider), weather) // run_code, read_file, write_file, and a typed Go function
//	a, err := agent.New(model, agent.Tools(tools...), agent.System("You analyse data."), agent.MaxTurns(10))
//	res, err := a.Execute(ctx, agent.Task("Plot the monthly totals of sales.csv"))
//
// An [Agent] is a primitives.Primitive[Input, Result]: a task (or a
// conversation to continue) goes in; the final answer, the whole
// transcript, every tool call with its result, error and duration, the
// tokens spent, the turns and the reason it stopped come out. The model is
// any primitives.Primitive[llm.Request, llm.Response] — the Anthropic and
// OpenAI providers of package integrations/llm, or the same wrapped in
// recovery.Retry, a cache, a rate limit.
//
// Each turn sends the conversation and the tools' schemas to the model. A
// reply with tool calls has them run and their results (with the calls'
// IDs) sent back as the next user message; a reply without tool calls is
// the answer and ends the run. A reply the service paused
// (llm.StopPauseTurn) is sent back as it is to let the model go on.
//
// # Tools
//
// A [Tool] declares itself (name, description, JSON Schema) and runs on
// the model's arguments. [NewTool] makes one of a typed Go function, with
// the schema generated from its input type and the arguments validated
// before the function runs. [SandboxTools] gives run_code, read_file and
// write_file on one Python session per run, on any sandbox.Provider. The
// calls of one reply run concurrently, at most [ToolConcurrency] at once,
// except the calls of tools that share state ([Serial]), which run in the
// model's order. An approval hook ([Approve]) sees each call first and
// may refuse it.
//
// What a tool's error means is decided by its type. A *ToolError is the
// tool's own failure (bad arguments, a missing file, an error the tool
// reports on purpose): the model reads its message as an error result and
// the run goes on. Any other error is a failure of the infrastructure
// under the tool: the run stops, cancels the other calls of the turn, and
// returns it in a *RunError. The run never retries a tool itself — an
// outage is the caller's to decide about, not the model's — and [Retry]
// wraps a tool in recovery.Retry for the caller who decides in advance.
//
// # Limits
//
// [MaxTurns] (default 20), [TokenBudget], [TimeBudget] and
// [MaxToolCallsPerTurn] bound a run. Reaching one ends the run with a
// *LimitError (matching [ErrLimit], not retryable) carrying the run so
// far. Tool calls whose results no model call would read are not run: the
// transcript answers them with error results saying why, so the
// conversation can be continued from Result.Messages.
//
// # The module's invariants, as this package keeps them
//
// The numbers are those of docs/architecture.md ("Invariants"); the
// conformance matrix (internal/conformance) runs an Agent with its inner
// step as the model and as a tool under every condition.
//
//  1. Context first: a done context returns its cause before the model is
//     called; the context is checked again before each turn and before
//     the tools of a reply run.
//  2. Cancellation is read from the context: when a model call or a tool
//     fails, whether the caller gave up is decided by the caller's
//     context (the run then returns a *RunError wrapping its cause), then
//     whether the run's TimeBudget passed (a *LimitError), whatever error
//     the model or the tool returned.
//  3. Retryability survives: the model's errors and the tools' errors of
//     infrastructure are returned in a *RunError, which has no verdict of
//     its own, so recovery.IsRetryable and RetryAfter see the inner
//     error's. Call.Err keeps a tool's error as it was, under its
//     *ToolError. A *LimitError is not retryable: its budget is spent.
//  4. Panics are bugs: the model and the approval hook run on the caller's
//     goroutine, so their panic reaches the caller with its own value,
//     after the spans are ended and the sandbox session is closed. Tools
//     run on goroutines of the agent (always, even one call alone, so the
//     outcome does not depend on how many calls a reply makes): a tool's
//     panic ends the run with a *primitives.PanicError (value and stack,
//     not retryable) in a *RunError.
//  5. Nothing is leaked: every goroutine of a turn has ended when the turn
//     ends (a tool that ignores its context is waited for), and what the
//     tools kept for the run (the sandbox session) is released when the
//     run ends, on every path. An Agent holds nothing between runs.
//  6. Programmer errors panic at construction: a nil model, tool, hook or
//     option, a bound below its minimum, a bad tool name or input type in
//     NewTool. New returns a *ConfigError for a tool set it cannot offer
//     (two tools of one name), since tools may come from outside the
//     program.
//  7. User-code failures are results: a tool's own failure is an error
//     result the model reads; an exception of the model's Python code is
//     a normal run_code result. Failures of infrastructure are errors.
//  8. Telemetry costs nothing when it is off. With a tracer provider a run
//     is an "invoke_agent <name>" span (the OpenTelemetry GenAI
//     conventions), each turn an "agent.turn_<n>" child, under which the
//     model's own "chat <model>" span and one "execute_tool <tool>" span
//     per call (gen_ai.tool.name, gen_ai.tool.call.id, error.type on
//     failure). Metrics agent_runs_total, agent_turns and
//     agent_tool_calls_total; one log record per run, only through a
//     logger given with observability.WithLogger.
package agent
