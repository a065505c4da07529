package mcptool_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/agent/mcptool"
	"github.com/ttadev/primitives/integrations/llm"
)

// greet is an agent tool: written once, it serves an agent and, through
// AddTools, any MCP client.
type greet struct{}

func (greet) Definition() llm.Tool {
	return llm.Tool{
		Name:        "greet",
		Description: "Greets someone by name.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`),
	}
}

func (greet) Call(_ context.Context, args json.RawMessage) ([]llm.Block, error) {
	var in struct{ Name string }
	if err := json.Unmarshal(args, &in); err != nil {
		return nil, err
	}
	return []llm.Block{llm.Text{Text: "Hello, " + in.Name + "!"}}, nil
}

func Example() {
	ctx := context.Background()

	// A server offering the agent tool (here in memory; sandbox-mcp or
	// any other server over Stdio or HTTP works the same way).
	server := mcp.NewServer(&mcp.Implementation{Name: "greeter", Version: "1"}, nil)
	if err := mcptool.AddTools(server, greet{}); err != nil {
		log.Fatal(err)
	}
	transport := mcptool.Transport(func(ctx context.Context) (mcp.Transport, error) {
		client, srv := mcp.NewInMemoryTransports()
		_, err := server.Connect(ctx, srv, nil)
		return client, err
	})

	// The server's tools as agent tools, prefixed to keep them apart from
	// other servers' tools. Whoever owns the agent run closes the client.
	c, err := mcptool.Connect(ctx, transport, mcptool.WithPrefix("greeter_"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	for _, tool := range c.Tools() {
		fmt.Println(tool.Definition().Name+":", tool.Definition().Description)
		blocks, err := tool.Call(ctx, json.RawMessage(`{"name":"Ada"}`))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(blocks[0].(llm.Text).Text)
	}
	// Output:
	// greeter_greet: Greets someone by name.
	// Hello, Ada!
}

// A stdio server is a command the client starts, and stops on Close.
func ExampleStdio() {
	ctx := context.Background()
	c, err := mcptool.Connect(ctx, mcptool.Stdio{
		Command: "sandbox-mcp",
		Args:    []string{"-backend", "local"},
		Stderr:  os.Stderr,
	}, mcptool.WithTools("run_code"), mcptool.WithPrefix("py_"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()    // stops sandbox-mcp and its sandboxes
	tools := c.Tools() // [py_run_code], for the agent
	_ = tools
}
