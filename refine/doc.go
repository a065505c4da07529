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
// without code, code that runs past its time limit — goes into the history
// that the next generation receives, with the code, the error's name,
// value and traceback and the end of the output.
//
// # The rules of the module, as this package keeps them
//
//   - Programmer errors panic at construction: a nil generator, executor,
//     validator or option, MaxAttempts below 1, a negative budget or
//     feedback limit. Execute never dereferences nil.
//   - Run-time failures are errors that say whether to retry. A Go error
//     from the generator, the executor or the validator is an
//     infrastructure failure (an LLM rate limit, a lost sandbox): it is not
//     an attempt, and it is returned as it is, so its own Retryable and
//     RetryAfter still speak to recovery.Retry. Put the Retry around the
//     generator or the executor (not around the loop) to keep the attempts
//     already made. When the attempts or the token budget run out, the
//     error is an *ExhaustedError (matching [ErrNoWorkingCode], not
//     retryable) carrying the whole history.
//   - User-code failures are results: a Python exception is a failed
//     attempt fed back to the generator, never a Go error. One executor
//     error is treated the same way: a timeout of the generated code
//     (recovery.ErrTimeout while the caller's context is still live),
//     because code that loops forever is the code's fault, and the next
//     generation should hear of it.
//   - The context is checked before each generation and each execution,
//     and its cause is returned.
//   - Telemetry costs nothing when it is off. With a tracer provider the
//     loop runs in a "refinement" span with one "refinement.iteration_<n>"
//     child per attempt; the generator's and executor's own spans nest
//     under the attempt's. Each finished run adds to the metrics
//     refinement_runs_total and refinement_attempts (by
//     refinement.outcome) and writes one log record.
//   - A panic in the generator, executor or validator runs on the caller's
//     goroutine and propagates unchanged; it is not an attempt and is
//     never retried. The open spans are ended (status Error) as it
//     unwinds.
package refine
