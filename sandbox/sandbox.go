package sandbox

import (
	"context"
	"time"
)

// Provider creates sandboxes. Implementations are safe for concurrent use.
type Provider interface {
	// Name identifies the backend in logs and spans ("local", "e2b").
	Name() string
	// Create starts a sandbox and returns when it is ready to run code.
	Create(ctx context.Context, opts CreateOptions) (Sandbox, error)
}

// CreateOptions describes the sandbox to create. The zero value asks for the
// provider's defaults.
type CreateOptions struct {
	// Template selects the sandbox image where the backend has several
	// (E2B: "code-interpreter-v1" by default). Backends without templates
	// ignore it.
	Template string
	// AllowInternet lets code in the sandbox reach the network (needed by
	// pip install). Off by default.
	AllowInternet bool
	// Env is set for every execution in the sandbox. Nothing from the host
	// environment is passed unless it is listed here.
	Env map[string]string
	// Lifetime bounds how long the sandbox may live (E2B's sandbox
	// timeout); 0 means the provider's default.
	Lifetime time.Duration
	// Metadata is attached to the sandbox where the backend supports it.
	Metadata map[string]string
	// Stateless asks for a sandbox in which every Run starts from a clean
	// slate: nothing a previous Run left (files, processes, environment,
	// imported modules, interpreter state) is visible to the next one. A
	// [Pool] in [Stateless] mode sets it. A backend that cannot provide it
	// ignores it; the pool still calls Reset after each use, which such a
	// backend implements as well as it can.
	Stateless bool
}

// Sandbox is one isolated interpreter whose state persists between runs,
// like a Jupyter kernel. Run calls on one sandbox are serialised by the
// implementation; use a [Pool] for parallelism.
type Sandbox interface {
	// ID identifies the sandbox (E2B's sandboxID, or a local id).
	ID() string
	// Run executes code and returns what it produced. A failure of the
	// code itself is reported in Execution.Error with a nil error; a
	// non-nil error means the infrastructure failed, and the sandbox
	// should not be used again unless the error says otherwise.
	Run(ctx context.Context, code string, opts RunOptions) (*Execution, error)
	// Reset discards the interpreter state (variables, imports) so the next
	// run starts fresh, keeping the sandbox itself when it can.
	Reset(ctx context.Context) error
	// Close releases the sandbox and everything it started. It is
	// idempotent.
	Close(ctx context.Context) error
}

// Language values accepted by RunOptions.Language.
const (
	LanguagePython = "python"
)

// RunOptions tunes one execution. The zero value runs Python with the
// sandbox's defaults.
type RunOptions struct {
	// Timeout bounds the execution; 0 means the backend's default. When it
	// passes, Run returns an error matching recovery.ErrTimeout and
	// context.DeadlineExceeded.
	Timeout time.Duration
	// Env is set for this execution only and reverted afterwards.
	Env map[string]string
	// Language is "" or "python"; backends reject others they cannot run
	// with an *UnsupportedLanguageError.
	Language string

	// Streaming callbacks, called in order on the goroutine that reads the
	// output, as soon as each piece arrives. They must not block for long.
	OnStdout func(OutputMessage)
	OnStderr func(OutputMessage)
	OnResult func(Result)
	OnError  func(ExecutionError)
	// OnHostCall, when not nil, lets the code of this run call the host:
	// in Python, sandbox_host.call(name, args) sends name and args (a
	// JSON object) to OnHostCall and returns its result decoded from
	// JSON, or raises sandbox_host.HostCallError with the error's text.
	// The call travels over the sandbox's own channel to the host, so it
	// needs no network in the sandbox. OnHostCall runs on a goroutine of
	// its own, with a context that ends with the run; it must check what
	// it is given, which the code wrote. A backend that cannot carry host
	// calls refuses the run with an error matching ErrHostCallsUnsupported
	// (E2B does).
	OnHostCall HostCallFunc
}

// HostCallFunc answers a call from code in a sandbox: name and args are
// what the code sent (args is the JSON text it wrote, not yet checked),
// the result is JSON text returned to the code. A returned error is
// raised in the code as sandbox_host.HostCallError with the error's text.
type HostCallFunc func(ctx context.Context, name string, args []byte) (result []byte, err error)
