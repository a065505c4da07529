package agent

import (
	"context"
	"encoding/json"

	"github.com/ttadev/primitives/integrations/llm"
)

// Tool is something the model may call during a run. [NewTool] builds one
// from a typed Go function; MCP servers and the built-in sandbox tools
// provide others.
//
// Call gets the arguments the model wrote (not yet checked unless the
// tool says otherwise) and returns the result's content (llm.Text and
// llm.Image blocks). Its error decides what happens next:
//
//   - a *ToolError (or an error wrapping one) is the tool's own failure
//     (bad arguments, an error it reports on purpose): its text goes back
//     to the model as an error result, and the run goes on;
//   - any other error is a failure of the infrastructure under the tool:
//     the run stops and returns it to the caller.
//
// A Tool must be safe for concurrent use: independent calls of one turn
// run concurrently.
type Tool interface {
	// Definition declares the tool to the model: name, description and
	// the JSON Schema of its arguments.
	Definition() llm.Tool
	// Call runs the tool.
	Call(ctx context.Context, args json.RawMessage) ([]llm.Block, error)
}

// ToolError is a tool's own failure, reported to the model as an error
// result so it can correct itself: arguments that do not follow the
// schema, a file that does not exist, an error the tool's function
// returns on purpose.
type ToolError struct {
	// Message is what the model reads.
	Message string
	// Err is the underlying error, if any; it is not shown to the model.
	Err error
}

// Error returns Message.
func (e *ToolError) Error() string { return e.Message }

// Unwrap returns Err.
func (e *ToolError) Unwrap() error { return e.Err }
