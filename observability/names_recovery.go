package observability

// Span and attribute names of the recovery package beyond those in
// names.go.
const (
	// SpanSaga is the span around a whole saga run.
	SpanSaga = "saga"
	// AttrTimeoutMS carries a Timeout primitive's limit in milliseconds.
	AttrTimeoutMS = "timeout.ms"
	// AttrFallbackIndex is the position in a fallback chain (0 = primary).
	AttrFallbackIndex = "fallback.index"
	// AttrCircuitState is a circuit breaker's state when a call starts.
	AttrCircuitState = "circuit_breaker.state"
	// AttrSagaStep is the index of a saga step (from 0).
	AttrSagaStep = "saga.step"
	// AttrSagaFailedStep is the index of the saga step that failed.
	AttrSagaFailedStep = "saga.failed_step"
)
