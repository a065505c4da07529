package observability

// Names used by the sandbox package (Pool and the CodeExecution primitive)
// in addition to the code-execution names of names.go.
const (
	// AttrErrorType classifies a failed code execution: see the
	// ErrorType* values below. It is an attribute of spans and of the
	// code_execution_error_total metric.
	AttrErrorType = "error.type"
	// AttrOutputTruncated is true when the output of an execution was cut
	// at the configured maximum size.
	AttrOutputTruncated = "output.truncated"
	// AttrSandboxCreated is true on a code_execution.code_run span whose
	// sandbox was created for that execution (a cold start).
	AttrSandboxCreated = "sandbox.created"
	// AttrPoolWaitMS is the time spent waiting for a free sandbox, on a
	// sandbox_pool.acquire span.
	AttrPoolWaitMS = "sandbox_pool.wait_ms"
)

// Values of AttrErrorType.
const (
	// ErrorTypeUserCode: the user's code raised an exception (a result,
	// not a Go error).
	ErrorTypeUserCode = "user_code"
	// ErrorTypeTimeout: the execution ran past its time limit.
	ErrorTypeTimeout = "timeout"
	// ErrorTypeInvalidInput: the input was rejected before any sandbox was
	// used.
	ErrorTypeInvalidInput = "invalid_input"
	// ErrorTypeCanceled: the caller's context ended first.
	ErrorTypeCanceled = "canceled"
	// ErrorTypeSandbox: any other infrastructure failure (creation failed,
	// the sandbox crashed, the backend was unreachable).
	ErrorTypeSandbox = "sandbox"
)
