package codemode

import "time"

// Defaults of the options.
const (
	DefaultName           = "run_program"
	DefaultMaxCalls       = 1000
	DefaultMaxArgBytes    = 256 << 10
	DefaultMaxResultBytes = 1 << 20
	DefaultCallTimeout    = 30 * time.Second
	DefaultTimeout        = 2 * time.Minute
	DefaultSandboxes      = 4
)

type config struct {
	name           string
	maxCalls       int
	maxArgBytes    int
	maxResultBytes int
	callTimeout    time.Duration
	timeout        time.Duration
	sandboxes      int
}

func defaults() config {
	return config{
		name:           DefaultName,
		maxCalls:       DefaultMaxCalls,
		maxArgBytes:    DefaultMaxArgBytes,
		maxResultBytes: DefaultMaxResultBytes,
		callTimeout:    DefaultCallTimeout,
		timeout:        DefaultTimeout,
		sandboxes:      DefaultSandboxes,
	}
}

// Option configures [New].
type Option func(*config)

// WithName names the tool (DefaultName, "run_program", by default).
func WithName(name string) Option {
	return func(c *config) {
		if name != "" {
			c.name = name
		}
	}
}

// WithMaxCalls bounds the tool calls of one program (DefaultMaxCalls by
// default); later calls raise tools.ToolError in the program.
func WithMaxCalls(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxCalls = n
		}
	}
}

// WithMaxArgumentBytes bounds the JSON arguments of one call
// (DefaultMaxArgBytes by default).
func WithMaxArgumentBytes(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxArgBytes = n
		}
	}
}

// WithMaxResultBytes bounds the JSON result of one call returned into the
// program (DefaultMaxResultBytes by default); a larger result raises
// tools.ToolError.
func WithMaxResultBytes(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxResultBytes = n
		}
	}
}

// WithCallTimeout bounds one tool call (DefaultCallTimeout by default);
// a call still running then raises tools.ToolError in the program.
func WithCallTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.callTimeout = d
		}
	}
}

// WithTimeout bounds a whole program (DefaultTimeout by default); Call
// then returns an error matching recovery.ErrTimeout.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithSandboxes bounds the programs running at once
// (DefaultSandboxes by default).
func WithSandboxes(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.sandboxes = n
		}
	}
}
