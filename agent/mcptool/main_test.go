package mcptool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// envServer makes the test binary run as an MCP server (see TestMain).
const envServer = "MCPTOOL_TEST_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(envServer) == "stubborn" {
		stubbornServer()
		return
	}
	os.Exit(m.Run())
}

// stubbornServer is an MCP server over stdio that ignores the end of its
// stdin and SIGTERM, and has a child of its own: only SIGKILL to its
// process group ends them.
func stubbornServer() {
	signal.Ignore(syscall.SIGTERM)
	child := exec.Command("sleep", "300")
	if err := child.Start(); err != nil {
		os.Exit(3)
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "stubborn", Version: "1"}, nil)
	s.AddTool(&mcp.Tool{Name: "child_pid", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strconv.Itoa(child.Process.Pid)}}}, nil
		})
	_ = s.Run(context.Background(), &mcp.StdioTransport{})
	time.Sleep(time.Hour)
}

// lockedBuffer is a bytes.Buffer safe for a process's writes and the
// test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
