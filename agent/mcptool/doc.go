// Package mcptool joins agent tools and the Model Context Protocol, both
// ways, with the official MCP Go SDK.
//
// [Connect] reaches an MCP server, over stdio ([Stdio]: a command the
// Client starts and stops), streamable HTTP ([HTTP]) or any SDK transport
// ([Transport]), and [Client.Tools] gives its tools as agent.Tool values:
// the server's name (prefixed or renamed by option), description and
// input schema, and a Call that sends the model's arguments to the server
// and maps its result to llm.Text and llm.Image blocks
// ([BlocksFromResult]). The Client is an io.Closer; the owner of the agent
// run closes it when the run is over:
//
//	c, err := mcptool.Connect(ctx, mcptool.Stdio{Command: "sandbox-mcp"}, mcptool.WithPrefix("py_"))
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	tools := c.Tools() // give them to the agent
//
// A tool's failure the model can act on is an *agent.ToolError: an error
// result (IsError), arguments that are not a JSON object, or arguments
// the server refuses. A failure under the tool is not: a lost connection
// is a *ConnectionError (retryable unless the server may have run the
// call), any other error answer a *ServerError. Cancelling a call's
// context cancels it on the server (notifications/cancelled).
//
// [AddTools] does the opposite: it offers agent tools on an SDK server,
// mapping blocks to MCP content and *agent.ToolError to an error result
// ([ResultFromBlocks]), so a tool written once serves an agent and any
// MCP client.
package mcptool
