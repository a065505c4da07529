package mcptool

import (
	"context"
	"errors"
	"fmt"
)

// Sentinels matched (errors.Is) by the errors of this package.
var (
	// ErrConnection is matched by every *ConnectionError.
	ErrConnection = errors.New("mcptool: connection to the MCP server failed")
	// ErrClosed is matched by the *ConnectionError of a call made after
	// [Client.Close], or cut short by it.
	ErrClosed = errors.New("mcptool: client closed")
	// ErrUnauthorized is matched by the *ConnectionError of an HTTP
	// connection the server refused with 401 or 403.
	ErrUnauthorized = errors.New("mcptool: the MCP server refused the credentials")
)

// ConnectionError is a failure of the connection to an MCP server, not of
// a tool: the server could not be started or reached, it exited, the
// stream broke, the HTTP session expired, or the client was closed. A
// tool's Call returns it as is, so the agent run stops with it.
//
// After a lost connection, the [Client] connects again on the next call
// (a new process for [Stdio], a new session for [HTTP]); a server's state
// does not survive that.
type ConnectionError struct {
	// Server names the server ([WithName], or what it calls itself).
	Server string
	// Op is what failed: "connect", "list tools" or "call <tool>".
	Op string
	// InFlight reports that the request had been sent when the connection
	// failed, so the server may have run it.
	InFlight bool
	// Status is the HTTP status that refused the connection, or 0.
	Status int
	// Err is the underlying error.
	Err error

	// safe: the tool says calling it again has no further effect.
	safe bool
	// permanent: trying again cannot help (the program does not exist).
	permanent bool
}

// Error names the server, the operation and the cause.
func (e *ConnectionError) Error() string {
	s := fmt.Sprintf("mcptool: %s: %s", e.Server, e.Op)
	if e.InFlight {
		s += " (the connection failed while the server had the request)"
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *ConnectionError) Unwrap() error { return e.Err }

// Is matches ErrConnection, and ErrUnauthorized for a 401 or 403.
func (e *ConnectionError) Is(target error) bool {
	return target == ErrConnection || target == ErrUnauthorized && (e.Status == 401 || e.Status == 403)
}

// Retryable reports whether trying again may succeed. It is false after
// Close, for a connection the caller cancelled, for credentials the
// server refused, for a server that cannot be started or addressed, and
// for a request the server may have run (InFlight) unless the tool
// declares itself read-only or idempotent; true otherwise (the next call
// connects again).
func (e *ConnectionError) Retryable() bool {
	switch {
	case errors.Is(e.Err, ErrClosed), errors.Is(e.Err, context.Canceled), e.permanent:
		return false
	case e.Status == 401 || e.Status == 403:
		return false
	case e.InFlight:
		return e.safe
	}
	return true
}

// ServerError is an MCP server's JSON-RPC error answer to a request,
// other than "invalid params" (which a tool's Call turns into an
// *agent.ToolError for the model to correct): a method the server does
// not have, an internal error. It is not retryable.
type ServerError struct {
	// Server names the server.
	Server string
	// Op is the request: "list tools" or "call <tool>".
	Op string
	// Code is the JSON-RPC error code.
	Code int64
	// Message is the server's message.
	Message string
}

// Error names the server, the request, the code and the message.
func (e *ServerError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("mcptool: %s: %s: server error: %s", e.Server, e.Op, e.Message)
	}
	return fmt.Sprintf("mcptool: %s: %s: server error %d: %s", e.Server, e.Op, e.Code, e.Message)
}

// Retryable reports false.
func (e *ServerError) Retryable() bool { return false }
