// Package conformance holds the composition conformance matrix of the
// module (matrix_test.go): every combinator, wrapped around an inner step,
// is run under every condition where combinators have been seen to
// disagree — a context already cancelled, cancelled with a cause, the
// caller's deadline passing mid-run, a deadline of the inner step's own,
// a panic, an error marked Permanent, an error marked Transient with a
// Retry-After hint, an inner step that ignores its context — and each cell
// asserts the documented outcome: the error's identity (errors.Is and
// errors.As), whether recovery.IsRetryable retries it, how many times the
// inner step ran, and that no goroutine is left behind. The suite runs
// under the race detector in CI.
//
// A new combinator is added to the module by adding its row to the matrix
// (see subjects in matrix_test.go); a new leaf primitive (one that calls a
// service instead of wrapping a step, such as a chat model) joins
// leaves_test.go, which checks the context conditions against a loopback
// server. docs/architecture.md lists the invariants the matrix checks. The
// package has no code of its own.
package conformance
