package mcptool

import (
	"context"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A call whose connection fails may or may not have reached the server.
// Over the newline-delimited transports (stdio, in-memory) the client
// can tell: it watches its own writes, and a request whose write did not
// complete never reached the server, so it may be sent again on a new
// connection. The HTTP transport cannot be watched this way (the SDK
// keeps session state in its own connection type), so there only the
// failures that say so (a closed connection, an expired session, a
// transient status) count as unsent.

// sentKey is the context key of a call's *atomic.Bool, set once the
// call's request is written.
type sentKey struct{}

// watchable reports whether t's connections can be wrapped without
// losing anything the SDK looks for in them.
func watchable(t mcp.Transport) bool {
	switch t.(type) {
	case *mcp.IOTransport, *mcp.InMemoryTransport, *mcp.StdioTransport, *mcp.CommandTransport:
		return true
	}
	return false
}

// watchedTransport makes watched connections.
type watchedTransport struct{ mcp.Transport }

func (t watchedTransport) Connect(ctx context.Context) (mcp.Connection, error) {
	c, err := t.Transport.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return watchedConn{c}, nil
}

// watchedConn marks each call's request as sent once written.
type watchedConn struct{ mcp.Connection }

func (c watchedConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	err := c.Connection.Write(ctx, msg)
	if err == nil {
		if req, ok := msg.(*jsonrpc.Request); ok && req.IsCall() {
			if sent, ok := ctx.Value(sentKey{}).(*atomic.Bool); ok {
				sent.Store(true)
			}
		}
	}
	return err
}
