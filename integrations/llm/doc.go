// Package llm puts chat models behind the module's Primitive interface: a
// [Provider] is a primitives.Primitive[Request, Response], and [Prompt]
// turns one into a step from any input to the reply's text, so an LLM
// composes with primitives.Then, PipeN, recovery.Retry and
// performance.Cache like any other step.
//
// The types of this package are provider-neutral; the providers that speak
// to a service live beside them.
package llm
