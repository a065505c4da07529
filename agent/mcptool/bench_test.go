package mcptool_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkCall is one tool call's round trip over the SDK's in-memory
// transport: the agent tool's Call, the JSON-RPC request and answer, the
// server's handler and the mapping of the result to blocks.
func BenchmarkCall(b *testing.B) {
	ts := newToolServer(b, nil)
	echo := find(b, connect(b, ts.memServer), "echo")
	ctx := context.Background()
	args := json.RawMessage(`{"msg":"hello"}`)
	b.ReportAllocs()
	for b.Loop() {
		blocks, err := echo.Call(ctx, args)
		if err != nil || len(blocks) != 1 {
			b.Fatal(blocks, err)
		}
	}
}

// BenchmarkCallParallel is the same with calls made concurrently on one
// connection.
func BenchmarkCallParallel(b *testing.B) {
	ts := newToolServer(b, nil)
	echo := find(b, connect(b, ts.memServer), "echo")
	args := json.RawMessage(`{"msg":"hello"}`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := echo.Call(ctx, args); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSDKCallTool is the same call made with the SDK's client
// alone, for reference: what BenchmarkCall adds is this package's cost.
func BenchmarkSDKCallTool(b *testing.B) {
	ts := newToolServer(b, nil)
	ctx := context.Background()
	tr, _ := ts.transport()(ctx)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "b", Version: "1"}, nil).Connect(ctx, tr, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	args := json.RawMessage(`{"msg":"hello"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: args}); err != nil {
			b.Fatal(err)
		}
	}
}
