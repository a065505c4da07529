package mcpserver

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// HTTPHandler returns the server as a streamable HTTP endpoint. With a
// non-empty token every request must carry "Authorization: Bearer <token>"
// (compared in constant time; a refusal is 401 and never echoes the
// token). An HTTP session idle for the idle timeout is closed, and its
// sandbox with it. The handler is safe for concurrent use.
func (s *Server) HTTPHandler(token string) http.Handler {
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.server },
		&mcp.StreamableHTTPOptions{SessionTimeout: s.cfg.idleTimeout, Logger: s.cfg.tel.Log()})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sandbox-mcp"`)
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// CheckListenAddr refuses to serve HTTP on an address reachable from other
// machines without a bearer token. An address is loopback when its host is
// "localhost" or a loopback IP; an empty host (":8080") listens on every
// interface and is not.
func CheckListenAddr(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("mcpserver: listen address %q: %w", addr, err)
	}
	if IsLoopback(host) || token != "" {
		return nil
	}
	return fmt.Errorf("mcpserver: refusing to listen on %q without a bearer token: it is reachable from other machines (set SANDBOX_MCP_TOKEN, or listen on 127.0.0.1)", addr)
}

// IsLoopback reports whether host names only this machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
