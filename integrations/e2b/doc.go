// Package e2b is a Go client of E2B's cloud sandboxes (https://e2b.dev) and
// a [sandbox.Provider] built on it, so that the module's code-execution
// primitive, pool and pipelines run on E2B with one constructor.
//
// It speaks E2B's public protocol directly: the control plane (REST on
// api.{domain}: create, kill, set timeout, connect, list, get) and the code
// interpreter on port 49999 of a sandbox (POST /execute, a stream of
// newline-delimited JSON parsed line by line as it arrives, and the
// contexts API). Configuration follows E2B's own SDKs: E2B_API_KEY,
// E2B_DOMAIN, E2B_API_URL, E2B_SANDBOX_URL and E2B_DEBUG.
//
// # Entry points
//
//   - [NewCodeExecutionPrimitive]: TTA.dev's CodeExecutionPrimitive, a
//     primitives.Primitive[sandbox.CodeInput, sandbox.CodeOutput].
//   - [NewProvider]: a sandbox.Provider for a sandbox.Pool of your own.
//   - [NewClient]: the protocol client, for direct control.
//
// # Options
//
// Each constructor takes its own option interface: [ClientOption] for
// NewClient and NewProvider, [PrimitiveOption] for
// NewCodeExecutionPrimitive. The client's options are [Option]s, both at
// once; the primitive's own ([WithPipInstall], [WithMaxOutputSize],
// [WithCodeOptions]) are PrimitiveOptions only. Telemetry is
// observability.Option, accepted by all three.
//
// # Errors
//
// Infrastructure failures are typed errors that errors.As can see
// ([*AuthenticationError], [*RateLimitError], [*NotFoundError],
// [*SandboxUnavailableError], [*ServiceError], [*UnexpectedResponseError],
// [*ProtocolError], [*StateLostError], [*InterruptedExecutionError],
// *sandbox.UnsupportedLanguageError, [*RequestTimeoutError],
// [*ConfigError], and *recovery.TimeoutError for the execution timeout).
// Each says through Retryable (and RetryAfter) whether recovery.Retry
// should try again, and every error of the package matches [ErrE2B]. A
// failure of the user's code is not an error: it is Execution.Error.
//
// The API key and the sandboxes' access tokens never appear in an error, a
// log record or a span.
//
// The sub-package e2btest is a fake E2B server for tests.
package e2b
