package mcpserver_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/internal/mcpserver"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox/local"
)

// A server on the local sandbox, called by the SDK's client over an
// in-memory transport: state persists between the two calls.
func ExampleNew() {
	quiet := observability.WithLogger(slog.New(slog.DiscardHandler))
	p, err := local.New(quiet)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	srv := mcpserver.New(p, "example", quiet)
	defer srv.Close(context.Background())

	ctx := context.Background()
	clientEnd, serverEnd := mcp.NewInMemoryTransports()
	if _, err := srv.MCP().Connect(ctx, serverEnd, nil); err != nil {
		fmt.Println(err)
		return
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "example"}, nil).Connect(ctx, clientEnd, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cs.Close()

	for _, code := range []string{"x = 21", "print('doubling')\nx * 2"} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: mcpserver.ToolRunCode, Arguments: map[string]any{"code": code}})
		if err != nil {
			fmt.Println(err)
			return
		}
		out := res.StructuredContent.(map[string]any)
		result, _ := out["result"].(string) // absent when the last statement is not an expression
		fmt.Printf("success=%v stdout=%q result=%q\n", out["success"], out["stdout"], result)
	}
	// Output:
	// success=true stdout="" result=""
	// success=true stdout="doubling\n" result="42"
}
