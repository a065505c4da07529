package e2btest

import "time"

// Op selects the requests a [Fault] applies to.
type Op uint8

const (
	// OpAny matches every request.
	OpAny Op = iota
	// OpCreate matches POST /sandboxes.
	OpCreate
	// OpKill matches DELETE /sandboxes/{id}.
	OpKill
	// OpControl matches every control-plane request.
	OpControl
	// OpExecute matches POST /execute.
	OpExecute
	// OpContext matches the contexts API (create, list, restart, remove).
	OpContext
)

// FaultKind says what a [Fault] does.
type FaultKind uint8

const (
	// RateLimit answers 429 {"code":429,"message":"Rate limit exceeded"}
	// with a Retry-After header of Fault.RetryAfter (rounded up to whole
	// seconds; none when 0).
	RateLimit FaultKind = iota + 1
	// Unauthorized answers 401 as for a wrong API key.
	Unauthorized
	// PortNotOpen answers 502 "The sandbox is running but port is not
	// open", as E2B's proxy does right after creation.
	PortNotOpen
	// SandboxNotFound answers 502 "The sandbox was not found".
	SandboxNotFound
	// Status answers Fault.Status (default 500) with an E2B error body
	// and Fault.ErrorCode.
	Status
	// HTML answers Fault.Status (default 502) with an HTML page.
	HTML
	// NoSandboxID answers a create with 201 and a Sandbox body without
	// sandboxID (no sandbox is created).
	NoSandboxID
	// CutStream runs the code, sends Fault.AfterLines lines of its stream
	// and drops the connection.
	CutStream
	// KeepaliveOnly sends keepalive lines and nothing else until the
	// client goes away (a stream that never ends). The code is not run.
	KeepaliveOnly
	// SlowStart sends keepalive lines for Fault.Delay, then runs the code
	// normally.
	SlowStart
	// MalformedLine sends a line that is not JSON first, then the normal
	// stream.
	MalformedLine
	// SyntheticError runs nothing and answers as the code interpreter
	// does when it loses the kernel: an error line named Fault.ErrorName,
	// then end_of_execution. "ContextRestarting" (the default; value
	// "Context was restarted") is a kernel that died; "WebSocketError" is
	// a restart during the run and sends two error lines, WebSocketError
	// then UnexpectedEndOfExecution. After either, the context's state is
	// gone (its kernel is restarted). Any other name is sent as is and
	// leaves the state alone.
	SyntheticError
)

// Fault is an injected failure: the next Count requests matching Op get
// Kind instead of (or around) their normal answer. Count 0 means 1; a
// negative Count means every matching request until [Server.ClearFaults].
type Fault struct {
	Kind       FaultKind
	Op         Op
	Count      int
	Status     int
	RetryAfter time.Duration
	AfterLines int
	Delay      time.Duration
	ErrorCode  string
	ErrorName  string
}

// matches reports whether f applies to a request of kind op.
func (f *Fault) matches(op Op) bool {
	switch f.Op {
	case OpAny:
		return true
	case OpControl:
		return op == OpCreate || op == OpKill || op == OpControl
	}
	return f.Op == op
}
