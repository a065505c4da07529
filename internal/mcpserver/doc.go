// Package mcpserver serves the module's code-execution primitive to Model
// Context Protocol clients (desktop assistants, coding agents, IDEs): the
// server behind cmd/sandbox-mcp.
//
// It is built on the official Go SDK (github.com/modelcontextprotocol/go-sdk)
// and offers four tools, each with input and output JSON schemas:
//
//   - run_code runs a Python cell and returns stdout, stderr, the value of
//     the last expression, the exception (name, value, traceback) and the
//     execution time as structured content, and PNG, JPEG and SVG results as
//     image content; stdout is streamed as progress notifications while the
//     cell runs, and a client's cancellation stops the cell;
//   - write_file and read_file move a bounded file (text or base64) into and
//     out of the session's sandbox;
//   - reset_session replaces the session's sandbox with a fresh one.
//
// Each MCP session gets a sandbox of its own, created at its first call,
// whose state (variables, imports, files, processes) persists across calls.
// It is closed when the MCP session ends, when it has been idle for the idle
// timeout, or when the server closes. The number of sessions holding a
// sandbox is bounded.
//
// Each session's cells run through the library's own primitives:
// recovery.Timeout around recovery.Retry (retrying only a sandbox that
// could not be created, never a cell) around a sandbox.CodeExecution in
// session mode with a pool of one sandbox, so every cell reports the
// code_execution spans and metrics, and a sandbox that crashes or times out
// is replaced by the pool. Every tool call is a span (mcp.tool_call) and is
// counted in mcp_tool_calls_total and mcp_tool_call_duration_seconds.
//
// Bad input (empty or oversized code or file, a bad path or encoding, an
// out-of-range timeout, a session past the bound or expired) is a tool error
// the model can read; a panic in a handler is recovered into one too.
package mcpserver
