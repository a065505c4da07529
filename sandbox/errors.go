package sandbox

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by a Sandbox or Pool used after Close.
var ErrClosed = errors.New("sandbox: closed")

// ErrUnsupported is matched by *UnsupportedError.
var ErrUnsupported = errors.New("sandbox: not supported by this backend")

// ErrHostCallsUnsupported is matched by the error of a Run with
// RunOptions.OnHostCall on a backend that cannot carry host calls.
var ErrHostCallsUnsupported = errors.New("sandbox: this backend cannot carry calls from code to the host")

// UnsupportedError reports that a backend cannot do what was asked, before
// anything ran. It matches ErrUnsupported and the feature's own sentinel
// (Err), and is not retryable.
type UnsupportedError struct {
	// Backend is the provider's name ("e2b").
	Backend string
	// Feature names what it cannot do.
	Feature string
	// Err is the feature's sentinel, such as ErrHostCallsUnsupported.
	Err error
}

// Error names the backend and the feature.
func (e *UnsupportedError) Error() string {
	return "sandbox: " + e.Backend + ": " + e.Feature + " is not supported by this backend"
}

// Is matches ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// Unwrap returns the feature's sentinel.
func (e *UnsupportedError) Unwrap() error { return e.Err }

// Retryable reports false: the backend will not learn it.
func (e *UnsupportedError) Retryable() bool { return false }

// ErrCrashed is matched by errors reporting that a sandbox died during an
// execution (its interpreter exited or was killed). The sandbox must not
// be reused; a new one can be created at once, so it is retryable.
var ErrCrashed = errors.New("sandbox: crashed")

// UnsupportedLanguageError is returned when a backend cannot run the
// requested language. It is not retryable.
type UnsupportedLanguageError struct {
	Language  string
	Supported []string
}

func (e *UnsupportedLanguageError) Error() string {
	return fmt.Sprintf("sandbox: language %q is not supported (supported: %v)", e.Language, e.Supported)
}

// Retryable reports false.
func (e *UnsupportedLanguageError) Retryable() bool { return false }

// CrashError reports that a sandbox died during an execution. It matches
// ErrCrashed and is retryable (on a fresh sandbox).
type CrashError struct {
	SandboxID string
	Reason    string
}

func (e *CrashError) Error() string {
	return fmt.Sprintf("sandbox %s crashed: %s", e.SandboxID, e.Reason)
}

// Is matches ErrCrashed.
func (e *CrashError) Is(target error) bool { return target == ErrCrashed }

// Retryable reports true: a fresh sandbox may succeed.
func (e *CrashError) Retryable() bool { return true }

// LimitError reports that a sandbox was stopped because its code went
// over a limit of the sandbox as a whole, such as the local sandbox's
// memory budget. It matches ErrCrashed (the sandbox is dead, its state
// gone), but unlike a *CrashError it is not retryable: the same code on a
// fresh sandbox would go over the same limit.
type LimitError struct {
	SandboxID string
	// Resource names what went over: "memory".
	Resource string
	// Limit is the sandbox's limit and Used what was measured when it was
	// stopped, in the resource's unit (bytes for memory).
	Limit, Used int64
}

func (e *LimitError) Error() string {
	if e.Resource == "memory" {
		return fmt.Sprintf("sandbox %s stopped: its processes held %s of memory, over its budget of %s", e.SandboxID, mib(e.Used), mib(e.Limit))
	}
	return fmt.Sprintf("sandbox %s stopped: its %s use (%d) went over its limit (%d)", e.SandboxID, e.Resource, e.Used, e.Limit)
}

// Is matches ErrCrashed.
func (e *LimitError) Is(target error) bool { return target == ErrCrashed }

// Retryable reports false: a fresh sandbox has the same limit.
func (e *LimitError) Retryable() bool { return false }

// mib formats a byte count in MiB.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
