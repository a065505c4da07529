package observability

// Span and attribute names of the E2B integration beyond those in
// names.go (SpanE2BCreate, SpanE2BKill, SpanE2BExecute).
const (
	// SpanE2BConnect is the span of connecting to (or resuming) a sandbox.
	SpanE2BConnect = "e2b.sandbox.connect"
	// SpanE2BSetTimeout is the span of changing a sandbox's lifetime.
	SpanE2BSetTimeout = "e2b.sandbox.set_timeout"
	// SpanE2BGet is the span of reading one sandbox's details.
	SpanE2BGet = "e2b.sandbox.get"
	// SpanE2BList is the span of listing one page of sandboxes.
	SpanE2BList = "e2b.sandbox.list"
	// SpanE2BContext is the span of a call of the code interpreter's
	// contexts API; AttrE2BOperation says which.
	SpanE2BContext = "e2b.context"
	// AttrE2BTemplate is the template of a sandbox.
	AttrE2BTemplate = "e2b.template"
	// AttrE2BContextID is the code interpreter context of an execution.
	AttrE2BContextID = "e2b.context_id"
	// AttrE2BOperation names a contexts API call: create, list, restart,
	// remove.
	AttrE2BOperation = "e2b.operation"
	// AttrE2BExecutionCount is the kernel's execution counter after a run.
	AttrE2BExecutionCount = "e2b.execution_count"
	// AttrE2BStreamLines counts the lines of an execution stream,
	// keepalives included.
	AttrE2BStreamLines = "e2b.stream.lines"
)
