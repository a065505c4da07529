// Package recovery makes primitives survive failures: [Retry] tries again,
// [Fallback] tries something else, [Timeout] bounds how long work may run
// and really stops it, [CircuitBreaker] stops calling a dependency that is
// down, and [Saga] undoes completed steps when a later one fails. Each is
// a primitives.Primitive wrapping primitives, so they nest and compose with
// the rest of the module, and the compiler checks every joint:
//
//	exec := recovery.Retry(
//		recovery.Timeout(codeExecution, 30*time.Second),
//		recovery.MaxRetries(3), recovery.Exponential())
//
// # Errors: what is retried by default
//
// Errors say whether trying again could help. [IsRetryable] is the default
// policy of Retry:
//   - the caller's cancelled or expired context is never retried (Retry
//     checks the caller's context itself, whatever the predicate says);
//   - errors marked [Permanent], bad input ([InvalidInputError]), and errors
//     whose Retryable method ([Retryable]) reports false are not retried;
//   - errors marked [Transient], errors whose Retryable method reports true
//     (a 429, a 503, a Timeout primitive's [TimeoutError]) are retried;
//   - an unknown error is retried, since it may be transient.
//
// An error that knows how long to wait ([RetryAfterHinter], e.g. an HTTP
// Retry-After header, or a circuit breaker's [OpenError]) sets the wait,
// capped by the maximum delay. [RetryIf] replaces the policy.
//
// Every failure of this package is an exported error type that errors.Is
// and errors.As see through: [RetryError] ([ErrRetriesExhausted]),
// [FallbackError], [TimeoutError] ([ErrTimeout], context.DeadlineExceeded),
// [OpenError] ([ErrCircuitOpen]), [SagaError] and [CompensationError].
//
// # Composition order
//
// Wrappers apply from the inside out; the order changes the meaning:
//   - Retry(Timeout(p)): each attempt gets its own deadline; a hung attempt
//     is cut short and retried. This is usually what you want.
//   - Timeout(Retry(p)): one deadline for all attempts and waits together;
//     Retry stops waiting the moment it passes.
//   - Retry(CircuitBreaker(p)): while the circuit is open, Retry waits for
//     the time the breaker says is left (its Retry-After hint) instead of
//     hammering; CircuitBreaker(Retry(p)) counts one failure per exhausted
//     sequence of attempts instead of one per attempt.
//   - Fallback(Retry(p), alt): the alternative runs only once p's retries
//     are spent; Retry(Fallback(p, alt)) retries the whole chain, which
//     rarely makes sense when alt is reliable.
//   - Timeout(p).WithFallback(alt) answers with alt only on a timeout,
//     Fallback(p, alt) on any failure.
//
// # Cost
//
// On the happy path Retry, Fallback and a closed CircuitBreaker add a few
// nanoseconds and no allocation; Timeout adds what context.WithTimeout
// costs and nothing more (the inner primitive runs on the caller's
// goroutine unless [AbandonOnDeadline] is given). The figures are in the
// package's benchmarks (go test -bench . -benchmem).
//
// # Observability
//
// When a tracer provider is installed (explicitly with the module's one
// telemetry option, observability.WithTracerProvider or WithProviders,
// which every constructor accepts, or as the OpenTelemetry global), the
// primitives
// report spans: "retry" with "retry.attempt_<n>" children, "fallback.primary"
// and "fallback.alternative_<i>", "timeout", "circuit_breaker" with
// "circuit_breaker.state_change" events, "saga" with "saga.step_<i>" and
// "saga.compensation_<i>" children. Without one, they create no span and
// allocate nothing for telemetry.
//
// # Construction
//
// Programmer errors (a nil primitive, a negative retry count, a zero
// timeout, a nil option) panic at construction with a message
// "recovery: Constructor: what is wrong". Run-time failures are returned
// errors. Every primitive of this package is safe for concurrent use when
// the primitives it wraps are.
package recovery
