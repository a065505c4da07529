package primitives

import (
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
)

// BranchError reports which Parallel branch failed.
type BranchError struct {
	Index int
	Err   error
}

// Error names the branch and its error.
func (e *BranchError) Error() string {
	return fmt.Sprintf("parallel branch %d: %v", e.Index, e.Err)
}

// Unwrap returns the branch's error.
func (e *BranchError) Unwrap() error { return e.Err }

// StepError reports which Sequential step failed.
type StepError struct {
	Index int
	Err   error
}

// Error names the step and its error.
func (e *StepError) Error() string {
	return fmt.Sprintf("sequential step %d: %v", e.Index, e.Err)
}

// Unwrap returns the step's error.
func (e *StepError) Unwrap() error { return e.Err }

// PanicError is returned in place of a panic raised by a step that the
// module runs on its own goroutine (a Parallel branch), so that a panic
// never crashes the process.
type PanicError struct {
	Value any
	Stack []byte
}

// Error gives the panic value (the stack is in Stack).
func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v", e.Value)
}

// Retryable reports false: a panic is a bug, and running the same code
// again runs the same bug. Package recovery's default policy asks this.
func (e *PanicError) Retryable() bool { return false }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

func newPanicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: debug.Stack()}
}

// UnknownRouteError is returned by Router when the selector picks a key
// that has no route and there is no default route.
type UnknownRouteError struct {
	Key   string
	Known []string
}

// Error names the key and the known routes.
func (e *UnknownRouteError) Error() string {
	return fmt.Sprintf("router: no route for key %q (known routes: %s)", e.Key, strings.Join(e.Known, ", "))
}

func sortedKeys[K comparable, V any](m map[K]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, fmt.Sprint(k))
	}
	slices.Sort(keys)
	return keys
}
