package observability

// Names of the LLM integration (package integrations/llm), as the
// OpenTelemetry semantic conventions for generative AI name them. Each call
// of a model is one CLIENT span named "<operation> <model>", e.g.
// "chat claude-sonnet-4-5" (GenAISpanName builds it).
const (
	// GenAIOperationChat is the gen_ai.operation.name of a chat call.
	GenAIOperationChat = "chat"

	// AttrGenAIOperationName is the operation: "chat".
	AttrGenAIOperationName = "gen_ai.operation.name"
	// AttrGenAIProviderName is the service: "anthropic" or "openai".
	AttrGenAIProviderName = "gen_ai.provider.name"
	// AttrGenAIRequestModel is the model the request asked for.
	AttrGenAIRequestModel = "gen_ai.request.model"
	// AttrGenAIRequestMaxTokens is the request's token limit, when set.
	AttrGenAIRequestMaxTokens = "gen_ai.request.max_tokens"
	// AttrGenAIRequestTemperature is the request's temperature, when set.
	AttrGenAIRequestTemperature = "gen_ai.request.temperature"
	// AttrGenAIOutputType is the kind of output the request asked for:
	// "json" with a structured-output format (the conventions require it
	// when the request includes an output format).
	AttrGenAIOutputType = "gen_ai.output.type"
	// AttrGenAIResponseID is the service's identifier of the response.
	AttrGenAIResponseID = "gen_ai.response.id"
	// AttrGenAIResponseModel is the model that answered.
	AttrGenAIResponseModel = "gen_ai.response.model"
	// AttrGenAIResponseFinishReasons lists why generation stopped.
	AttrGenAIResponseFinishReasons = "gen_ai.response.finish_reasons"
	// AttrGenAIUsageInputTokens counts the prompt tokens, cached ones
	// included.
	AttrGenAIUsageInputTokens = "gen_ai.usage.input_tokens"
	// AttrGenAIUsageOutputTokens counts the generated tokens.
	AttrGenAIUsageOutputTokens = "gen_ai.usage.output_tokens"
	// AttrGenAIUsageCacheReadInputTokens counts prompt tokens read from
	// the prompt cache, when the service reports them.
	AttrGenAIUsageCacheReadInputTokens = "gen_ai.usage.cache_read.input_tokens"
	// AttrGenAIUsageCacheCreationInputTokens counts prompt tokens written
	// to the prompt cache, when the service reports them.
	AttrGenAIUsageCacheCreationInputTokens = "gen_ai.usage.cache_creation.input_tokens"
	// AttrGenAITokenType is "input" or "output" on MetricGenAIClientTokenUsage.
	AttrGenAITokenType = "gen_ai.token.type"
	// AttrServerAddress and AttrServerPort name the service's host.
	AttrServerAddress = "server.address"
	AttrServerPort    = "server.port"

	// The content attributes, set only when the user opts in (the
	// providers' WithContentCapture option): JSON in the conventions'
	// message format.
	AttrGenAISystemInstructions = "gen_ai.system_instructions"
	AttrGenAIInputMessages      = "gen_ai.input.messages"
	AttrGenAIOutputMessages     = "gen_ai.output.messages"
	// AttrGenAIToolDefinitions lists the tools the request declared
	// (type "function", name, description, parameters); an opt-in
	// attribute of the conventions, set with the content attributes.
	AttrGenAIToolDefinitions = "gen_ai.tool.definitions"

	// MetricGenAIClientTokenUsage is a histogram of the tokens of each
	// call, by AttrGenAITokenType (unit "{token}").
	MetricGenAIClientTokenUsage = "gen_ai.client.token.usage"
	// MetricGenAIClientOperationDuration is a histogram of the duration of
	// each call in seconds, with error.type when it failed.
	MetricGenAIClientOperationDuration = "gen_ai.client.operation.duration"
)

// GenAISpanName returns the span name of a generative-AI call:
// operation, a space, and the model ("chat gpt-4o"), or the operation
// alone when the model is unknown.
func GenAISpanName(operation, model string) string {
	if model == "" {
		return operation
	}
	return operation + " " + model
}
