// Package sandbox is the neutral contract for running untrusted code: a
// [Provider] creates a [Sandbox], a Sandbox runs code and returns an
// [Execution] shaped like E2B's (stdout and stderr chunks, results with the
// value of the last expression, an error with name, value and traceback,
// an execution count).
//
// Two providers implement it: sandbox/local (an isolated Python worker on
// this machine, no account and no network) and integrations/e2b (E2B's
// cloud). A [Pool] over any provider reuses warm sandboxes, and the
// CodeExecution primitive turns a provider into a
// primitives.Primitive[CodeInput, CodeOutput], so the same pipeline runs on
// either backend. For tests of how a pipeline is wired, without Python,
// sandbox/sandboxtest provides a Provider whose sandboxes answer through a
// Go function.
//
// # Two kinds of failure
//
// A failure of the user's code (a SyntaxError, an exception, a failing
// assert) is a result: Execution.Error is set and Run returns a nil error.
// A failure of the infrastructure (a timeout, a crashed or vanished
// sandbox, a network or authentication problem) is a Go error that
// errors.Is and errors.As can inspect and that says whether retrying could
// help (see the recovery package).
package sandbox
