package observability

// Span and attribute names of the refine package (the generate → execute →
// fix loop) beyond those in names.go: the loop's span is SpanRefinement,
// each attempt a child span named SpanRefinementIteration followed by the
// attempt number (from 1), and the loop span carries
// AttrRefinementIterations, the number of attempts used.
const (
	// SpanRefinement is the span around one whole run of a refine.Loop.
	SpanRefinement = "refinement"
	// AttrRefinementAttempt is the number of an attempt (from 1), on its
	// refinement.iteration_<n> span.
	AttrRefinementAttempt = "refinement.attempt"
	// AttrRefinementMaxAttempts is the loop's attempt limit, on the loop
	// span.
	AttrRefinementMaxAttempts = "refinement.max_attempts"
	// AttrRefinementTokens is the number of tokens the generator reported:
	// for one attempt on its span, for the whole run on the loop span.
	AttrRefinementTokens = "refinement.tokens"
	// AttrRefinementStop says why a loop ended without working code:
	// "max_attempts" or "token_budget", on the loop span.
	AttrRefinementStop = "refinement.stop"

	// MetricRefinementRuns counts finished runs of a loop by
	// AttrRefinementOutcome (as a Prometheus scrape shows the name).
	MetricRefinementRuns = "refinement_runs_total"
	// MetricRefinementAttempts is the histogram of the attempts a run
	// used, by AttrRefinementOutcome.
	MetricRefinementAttempts = "refinement_attempts"
	// AttrRefinementOutcome is how a run ended: see the
	// RefinementOutcome* values.
	AttrRefinementOutcome = "refinement.outcome"
)

// Values of AttrRefinementOutcome.
const (
	// RefinementOutcomeSuccess: an attempt passed.
	RefinementOutcomeSuccess = "success"
	// RefinementOutcomeMaxAttempts: every attempt failed.
	RefinementOutcomeMaxAttempts = "max_attempts"
	// RefinementOutcomeTokenBudget: the token budget ran out first.
	RefinementOutcomeTokenBudget = "token_budget"
	// RefinementOutcomeError: a Go error from the generator, executor or
	// validator, or the caller's context, ended the run.
	RefinementOutcomeError = "error"
)
