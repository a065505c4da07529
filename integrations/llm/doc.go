// Package llm puts chat models behind the module's Primitive interface. A
// [Provider] is a primitives.Primitive[Request, Response] that also names
// its service, and [Prompt] (or [PromptTemplate]) turns one into a step
// from any input to the reply's text, so a model composes with
// primitives.Then, PipeN, recovery.Retry and performance.Cache like any
// other step.
//
// Two providers are built on the official SDKs:
//
//   - [NewAnthropic]: Anthropic's Messages API (anthropic-sdk-go/v2
//     v2.15.0, API version 2026-10-21, which rejects temperature: a
//     Request with a Temperature gets a *TemperatureRejectedError before
//     anything is sent).
//   - [NewOpenAI]: OpenAI's Chat Completions API (openai-go/v3 v3.98.0),
//     and through [WithBaseURL] or OPENAI_BASE_URL any server that speaks
//     it: Ollama, vLLM, the llama.cpp server.
//
// # Structured output
//
// [Structured] turns a provider into a typed step, primitives.Primitive[In, T]:
// it sends the JSON Schema of the struct T (made once, in the form OpenAI's
// strict mode requires) as Request.ResponseFormat, checks the reply
// against it and decodes it; a reply that does not follow it is a
// *StructuredOutputError, not retryable.
//
// # Keys and URLs
//
// Both constructors follow one policy. The URL comes from [WithBaseURL],
// else ANTHROPIC_BASE_URL / OPENAI_BASE_URL, else the service's own. The
// key comes from [WithAPIKey], else ANTHROPIC_API_KEY / OPENAI_API_KEY,
// but a key from the environment is sent only to the service's own URL or
// to the URL from the same environment: with WithBaseURL it is not used,
// and only WithAPIKey gives that server a key. Without a key the
// service's own URL is a *ConfigError matching ErrNoAPIKey; another
// server (a local one) gets requests without a key.
//
// # Retries
//
// The SDKs' own retries are turned off: one Execute is one HTTP request.
// Wrap a provider in recovery.Retry to retry; its default policy reads the
// errors of this package: *APIError is retryable for 408, 409, 429 and
// 5xx (529 included) and carries Retry-After-Ms / Retry-After,
// *ConnectionError is retryable, and a 400, 401, 403, 404, a refused
// temperature or an invalid request are not.
//
// # Tools, images and structured output
//
// A message's Blocks carry images ([Image]), the model's tool calls
// ([ToolCall]) and their results ([ToolResult]); a Request declares
// [Tool]s, constrains them with [ToolChoice] and may ask for a reply that
// follows a JSON schema ([JSONSchemaFormat]). A Response lists the reply's
// Content and ToolCalls, says why it stopped ([StopReason]), and
// [Response.Message] puts it back into the conversation. A reply the
// model refused is a [*RefusalError] (matching [ErrRefused]) holding what
// came, never an empty success. The Anthropic provider refuses blocks
// that make no sense (a tool result in an assistant message, an image
// without data or URL, a tool choice naming no declared tool, ...) before
// anything is sent.
//
// # Streaming
//
// A Request with OnDelta or OnToolCall streams: OnDelta gets each piece of
// text as it arrives, OnToolCall each tool call once its arguments are
// complete, and the Response still has the whole reply and the token
// usage.
//
// # Telemetry
//
// Each call is one CLIENT span "chat <model>" with the OpenTelemetry GenAI
// attributes, and is recorded in the histograms gen_ai.client.token.usage
// and gen_ai.client.operation.duration. Prompts and replies are left off
// spans unless [WithContentCapture] is given. The Anthropic SDK's own span
// is off unless [WithSDKSpans] asks for it as a child of ours. Keys never
// appear in errors, spans, logs or any fmt verb.
//
// See docs/llm.md for the whole story.
package llm
