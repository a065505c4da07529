// Package primitives is a small core for composing typed, observable steps
// into pipelines.
//
// Everything is a [Primitive]: one step that takes a context and an input and
// returns an output or an error. Combinators take primitives and return
// primitives, so a retried executor, a cached LLM call and a whole pipeline
// are all values of the same interface, and the Go compiler checks every
// joint:
//
//	workflow := primitives.Pipe4(generate, execute, validate, format)
//	out, err := workflow.Execute(ctx, requirement)
//
// # Combinators
//
//   - [Then] and [Pipe3] … [Pipe8] chain steps whose types change.
//   - [Sequential] chains steps of one type, each traced as "sequential.step_<i>".
//   - [Parallel] runs branches concurrently on the same input, each traced as
//     "parallel.branch_<i>", cancelling the others on the first error.
//   - [Conditional] and [Router] choose a step at run time.
//
// # Programmer errors panic at construction
//
// Every constructor in this module follows one rule: a mistake in how a
// pipeline is assembled (a nil primitive, an empty Sequential, a Parallel
// with no branches, a negative bound, an invalid option value) panics when
// the pipeline is built, with a message that starts with the package name and
// says what was wrong, as regexp.MustCompile does. Such a mistake is found
// the first time the program starts, and Execute never dereferences nil.
// Failures at run time (bad input, a failing step, a cancelled context) are
// returned as errors.
//
// # Context
//
// Each combinator checks the context before each step starts and returns
// its error (context.Cause when one was set) without running the step. A
// [WorkflowContext] carried in the context gives every span and log record
// a correlation id; see [WithWorkflow].
//
// # Observability
//
// Combinators that do real work report OpenTelemetry spans through the
// providers given in options, or the globals. With no tracer provider
// installed they create no spans and allocate nothing for telemetry.
// Span and metric names are all in the observability package.
package primitives
