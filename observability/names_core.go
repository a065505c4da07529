package observability

// Names used by primitives.Instrument.
const (
	// SpanPrimitivePrefix is followed by the name given to Instrument.
	SpanPrimitivePrefix = "primitive."
	// MetricPrimitiveExecutions counts executions, with attributes
	// primitive and success.
	MetricPrimitiveExecutions = "primitive_executions_total"
	// MetricPrimitiveDuration is the execution latency in seconds.
	MetricPrimitiveDuration = "primitive_duration_seconds"
)
