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
)
