package observability

import "strconv"

// ScopeName is the instrumentation scope of every tracer and meter this
// module obtains.
const ScopeName = "github.com/ttadev/primitives"

// Attribute keys shared by all spans and log records.
const (
	AttrCorrelationID = "correlation_id"
	AttrWorkflowID    = "workflow_id"
	AttrPrimitive     = "primitive"
	AttrStepIndex     = "step.index"
	AttrBranchIndex   = "branch.index"
	AttrAttempt       = "retry.attempt"
	AttrDelay         = "retry.delay_ms"
	AttrRouteKey      = "route.key"
)

// Span names of the core combinators. Indexed names are built with the
// functions below (StepSpan, BranchSpan, ...), which do not allocate for
// small indexes.
const (
	SpanSequentialPrefix = "sequential.step_"
	SpanParallelPrefix   = "parallel.branch_"
	SpanRouter           = "router"
)

// Span names of the recovery package.
const (
	SpanRetry                   = "retry"
	SpanRetryAttemptPrefix      = "retry.attempt_"
	SpanFallbackPrimary         = "fallback.primary"
	SpanFallbackAlternative     = "fallback.alternative_"
	SpanTimeout                 = "timeout"
	SpanCircuitBreaker          = "circuit_breaker"
	SpanSagaStepPrefix          = "saga.step_"
	SpanSagaCompensationPrefix  = "saga.compensation_"
	EventCircuitStateChange     = "circuit_breaker.state_change"
	EventRetryScheduled         = "retry.scheduled"
	EventTimeoutFallbackStarted = "timeout.fallback"
)

// Span, event and metric names of the performance package.
const (
	SpanCache            = "cache"
	EventCacheHit        = "cache.hit"
	EventCacheMiss       = "cache.miss"
	MetricCacheHits      = "cache_hits_total"
	MetricCacheMisses    = "cache_misses_total"
	MetricCacheEvictions = "cache_evictions_total"
	SpanBulkhead         = "bulkhead"
	SpanRateLimit        = "rate_limit"
)

// Span and metric names of code execution (the names TTA.dev's Python primitive uses).
// Metric names are given as a Prometheus scrape shows them.
const (
	SpanCodeExecution        = "code_execution.execute"
	SpanCodeSandboxInit      = "code_execution.sandbox_init"
	SpanCodeRun              = "code_execution.code_run"
	MetricCodeRequests       = "code_execution_requests_total"
	MetricCodeSuccess        = "code_execution_success_total"
	MetricCodeErrors         = "code_execution_error_total"
	MetricCodeDuration       = "code_execution_duration_seconds"
	SpanE2BCreate            = "e2b.sandbox.create"
	SpanE2BKill              = "e2b.sandbox.kill"
	SpanE2BExecute           = "e2b.execute"
	SpanPoolAcquire          = "sandbox_pool.acquire"
	SpanRefinementIteration  = "refinement.iteration_"
	AttrCodeLength           = "code_length"
	AttrSuccess              = "success"
	AttrExecutionTimeMS      = "execution_time_ms"
	AttrSandboxID            = "sandbox.id"
	AttrSandboxProvider      = "sandbox.provider"
	AttrErrorName            = "error.name"
	AttrCacheKeyHashed       = "cache.key_hash"
	AttrCircuitStateFrom     = "circuit_breaker.from"
	AttrCircuitStateTo       = "circuit_breaker.to"
	AttrRefinementIterations = "refinement.iterations"
)

const precomputed = 64

var (
	stepNames    = indexed(SpanSequentialPrefix)
	branchNames  = indexed(SpanParallelPrefix)
	attemptNames = indexed(SpanRetryAttemptPrefix)
)

func indexed(prefix string) [precomputed]string {
	var names [precomputed]string
	for i := range names {
		names[i] = prefix + strconv.Itoa(i)
	}
	return names
}

func name(table *[precomputed]string, prefix string, i int) string {
	if i >= 0 && i < precomputed {
		return table[i]
	}
	return prefix + strconv.Itoa(i)
}

// StepSpan returns "sequential.step_<i>".
func StepSpan(i int) string { return name(&stepNames, SpanSequentialPrefix, i) }

// BranchSpan returns "parallel.branch_<i>".
func BranchSpan(i int) string { return name(&branchNames, SpanParallelPrefix, i) }

// AttemptSpan returns "retry.attempt_<n>" (n counts from 1).
func AttemptSpan(n int) string { return name(&attemptNames, SpanRetryAttemptPrefix, n) }

// Indexed returns prefix followed by i, for the less frequent indexed names
// (saga steps, fallback alternatives, refinement iterations).
func Indexed(prefix string, i int) string { return prefix + strconv.Itoa(i) }
