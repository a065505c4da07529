package sandbox

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by a Sandbox or Pool used after Close.
var ErrClosed = errors.New("sandbox: closed")

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
