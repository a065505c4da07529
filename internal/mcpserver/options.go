package mcpserver

import (
	"fmt"
	"time"

	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/observability"
)

// Option configures [New]: the options of this file, and the telemetry
// options of package observability (which reach the per-session primitives
// too).
type Option interface {
	ForMCPServer(seal.Token)
}

type option func(*config)

func (option) ForMCPServer(seal.Token) {}

// Defaults of a Server.
const (
	DefaultMaxSessions    = 16
	DefaultIdleTimeout    = 15 * time.Minute
	DefaultCellTimeout    = 30 * time.Second
	DefaultMaxCellTimeout = 10 * time.Minute
	DefaultMaxCodeBytes   = 256 << 10
	DefaultMaxFileBytes   = 512 << 10
	DefaultMaxOutputChars = 20000
	// MaxFileBytesLimit is the largest WithMaxFileBytes accepted: a file
	// read back travels base64-encoded through the sandbox's stdout, which
	// the local sandbox bounds at 1 MiB per execution.
	MaxFileBytesLimit = 760 << 10
	// startAllowance is what the outer time limit of a call allows beyond
	// the longest cell, for creating a sandbox (an E2B cold start) and
	// retrying a failed creation.
	startAllowance = 2 * time.Minute
)

type config struct {
	maxSessions    int
	idleTimeout    time.Duration
	cellTimeout    time.Duration
	maxCellTimeout time.Duration
	maxCodeBytes   int
	maxFileBytes   int
	maxOutputChars int
	backend        string
	isolation      string
	telemetry      []observability.Option
	tel            observability.Providers
}

func defaultConfig() config {
	return config{
		maxSessions:    DefaultMaxSessions,
		idleTimeout:    DefaultIdleTimeout,
		cellTimeout:    DefaultCellTimeout,
		maxCellTimeout: DefaultMaxCellTimeout,
		maxCodeBytes:   DefaultMaxCodeBytes,
		maxFileBytes:   DefaultMaxFileBytes,
		maxOutputChars: DefaultMaxOutputChars,
	}
}

// WithMaxSessions bounds how many MCP sessions may hold a sandbox at once
// (default 16); a new session's first call past the bound gets a tool
// error. n < 1 panics.
func WithMaxSessions(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("mcpserver: WithMaxSessions(%d): bound must be >= 1", n))
	}
	return option(func(c *config) { c.maxSessions = n })
}

// WithIdleTimeout closes a session's sandbox once no call has used it for d
// (default 15 minutes); the session's next call gets a tool error asking for
// reset_session. d <= 0 panics.
func WithIdleTimeout(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("mcpserver: WithIdleTimeout(%s): timeout must be > 0", d))
	}
	return option(func(c *config) { c.idleTimeout = d })
}

// WithCellTimeout sets the time limit of a cell that gives none (default
// 30 s). d <= 0 panics.
func WithCellTimeout(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("mcpserver: WithCellTimeout(%s): timeout must be > 0", d))
	}
	return option(func(c *config) { c.cellTimeout = d })
}

// WithMaxCellTimeout sets the largest timeout a call may ask for (default
// 10 minutes). d <= 0 panics.
func WithMaxCellTimeout(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("mcpserver: WithMaxCellTimeout(%s): timeout must be > 0", d))
	}
	return option(func(c *config) { c.maxCellTimeout = d })
}

// WithMaxCodeBytes bounds the size of a cell's source (default 256 KiB).
// n < 1 panics.
func WithMaxCodeBytes(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("mcpserver: WithMaxCodeBytes(%d): size must be >= 1", n))
	}
	return option(func(c *config) { c.maxCodeBytes = n })
}

// WithMaxFileBytes bounds the size of a file written or read (default
// 512 KiB, at most [MaxFileBytesLimit]). Out-of-range n panics.
func WithMaxFileBytes(n int) Option {
	if n < 1 || n > MaxFileBytesLimit {
		panic(fmt.Sprintf("mcpserver: WithMaxFileBytes(%d): size must be between 1 and %d", n, MaxFileBytesLimit))
	}
	return option(func(c *config) { c.maxFileBytes = n })
}

// WithMaxOutputChars bounds the characters of stdout, stderr, the result
// and the traceback returned to the client for one cell, each on its own
// (default 20,000); a cut is marked in the text. n < 1 panics.
func WithMaxOutputChars(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("mcpserver: WithMaxOutputChars(%d): size must be >= 1", n))
	}
	return option(func(c *config) { c.maxOutputChars = n })
}

// WithBackendInfo names the backend and describes its isolation layers in
// the server's instructions to clients (see [Backend.Describe]).
func WithBackendInfo(name, isolation string) Option {
	return option(func(c *config) { c.backend, c.isolation = name, isolation })
}
