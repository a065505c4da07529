// Package codemode lets a model use an agent's tools by writing one Python
// program that calls them as functions, instead of one tool call per model
// turn:
//
//	rows = tools.query_sales(region="EU", year=2026)
//	best = max(rows, key=lambda r: r["total"])
//	tools.send_report(to="ops@example.com", body=f"Top: {best['name']}")
//	best
//
// A [Program] is an agent.Tool ("run_program") wrapping other tools. Each
// program runs in a fresh, stateless local sandbox with no network; every
// call a program makes travels over the sandbox's own channel to the host
// (sandbox.RunOptions.OnHostCall), where it is checked against the tool's
// JSON Schema and run, and its result returns into the program. A call to
// an unknown tool, with arguments that do not follow the schema, or that
// the tool refuses raises tools.ToolError inside the program, which may
// catch it. A multi-step tool workflow so costs one model turn, and the
// intermediate results never pass through the model's context.
//
// Calls are bounded in number, in the size of their arguments and
// results, and in time (see the options); a program is bounded in time as
// a whole. A failure of the infrastructure under a tool (an error that is
// not an *agent.ToolError) stops the program and is returned by Call, so
// the agent stops as it would for a direct tool call.
//
// Code mode needs the local sandbox: E2B cannot carry calls from the code
// to the host, and a program run there fails with an error matching
// sandbox.ErrHostCallsUnsupported.
package codemode
