// Package refine turns a code generator and a code executor into one
// primitive that keeps generating until the code works: the generate →
// execute → fix loop of TTA.dev's "iterative code refinement" pattern.
//
//	loop := refine.New(generator, exec, refine.MaxAttempts(3), refine.Tests(tests))
//	res, err := loop.Execute(ctx, "Write is_prime(n) and print the primes below 30.")
//
// A [Loop] is a primitives.Primitive[string, Result]: the requirement goes
// in, working code and its output come out. Each attempt asks the
// generator (any primitives.Primitive[Request, Generation]; usually an LLM,
// see package refine/llmgen) for code, runs it on the executor (any
// primitives.Primitive[sandbox.CodeInput, sandbox.CodeOutput]: the local
// sandbox, E2B, cached, retried) and validates the output. A failed
// attempt — an exception, a failing test, a validator's refusal, a reply
// without code, code that runs past its time limit, goes over its
// sandbox's memory budget or kills its interpreter — goes into the history
// that the next generation receives, with the code, the error's name,
// value and traceback and the end of the output.
//
// # The module's invariants, as this package keeps them
//
// The numbers are those of docs/architecture.md ("Invariants"); the
// conformance matrix (internal/conformance) runs a Loop with its inner
// step as the generator and as the executor under every condition.
//
//  1. Context first: a done context returns its cause before the
//     generator is called; the context is checked again before each
//     generation and each execution.
//  2. Cancellation is read from the context: an executor error matching
//     recovery.ErrTimeout counts as the code's failure only while the
//     caller's context is live; once the caller's context has ended, its
//     error is returned and no further attempt starts.
//  3. Retryability survives: a Go error from the generator, the executor
//     or the validator is an infrastructure failure (an LLM rate limit, a
//     lost sandbox), not an attempt, and it is returned as it is, so its
//     own Retryable and RetryAfter still speak to recovery.Retry. Put the
//     Retry around the generator or the executor (not around the loop) to
//     keep the attempts already made. When the attempts or the token
//     budget run out, the error is an *ExhaustedError (matching
//     [ErrNoWorkingCode], not retryable: its budget is spent) carrying the
//     whole history.
//  4. Panics are bugs: the generator, executor and validator run on the
//     caller's goroutine, so a panic reaches the caller with its own
//     value; it is not an attempt and is never retried. The open spans are
//     ended (status Error) as it unwinds.
//  5. Nothing is leaked: the loop starts no goroutine and holds nothing
//     between runs; a generator that appends to the history it receives
//     does not change the loop's.
//  6. Programmer errors panic at construction: a nil generator, executor,
//     validator or option, MaxAttempts below 1, a negative budget or
//     feedback limit.
//  7. User-code failures are results: a Python exception, a failing test,
//     a validator's refusal or a reply without code is a failed attempt
//     fed back to the generator, never a Go error. Three executor errors
//     are treated the same way, while the caller's context is live (see
//     2), because each is the generated code's fault and the next
//     generation should hear of it: the code running past its time limit
//     (recovery.ErrTimeout: code that loops forever), going over a limit
//     of its whole sandbox (*sandbox.LimitError: a memory bomb), and
//     ending its interpreter (sandbox.ErrCrashed: os._exit, a fatal
//     signal; an E2B execution cut short matches it too). The executor
//     replaces the dead sandbox; the attempt keeps what the code printed
//     before.
//  8. Telemetry costs nothing when it is off. With a tracer provider the
//     loop runs in a "refinement" span with one "refinement.iteration_<n>"
//     child per attempt; the generator's and executor's own spans nest
//     under the attempt's. Each finished run adds to the metrics
//     refinement_runs_total and refinement_attempts (by
//     refinement.outcome) and writes one log record (Debug, or Warn when
//     it fails) to the logger given with observability.WithLogger; without
//     one the loop writes no record at all (slog.Default is not used).
package refine
