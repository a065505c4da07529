package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/ttadev/primitives/recovery"
)

// AnthropicAPIVersion is the anthropic-version header that the SDK this
// provider is built on (github.com/anthropics/anthropic-sdk-go/v2 v2.15.0)
// sends. That version of the Messages API rejects temperature, top_p and
// top_k.
const AnthropicAPIVersion = "2026-10-21"

// ProviderAnthropic is the Name of the Anthropic provider and its
// gen_ai.provider.name.
const ProviderAnthropic = "anthropic"

// Anthropic is a [Provider] for Anthropic's Messages API, built on the
// official Go SDK. Create it with [NewAnthropic].
//
// The SDK's own retries are off: a failed call fails once, with a typed
// error that recovery.Retry classifies (see [APIError]). Anthropic is safe
// for concurrent use; a call costs one HTTP request.
type Anthropic struct {
	client    anthropic.Client
	cfg       config
	baseURL   string
	telemetry instrumentation
}

var _ Provider = (*Anthropic)(nil)

// NewAnthropic returns a provider for Anthropic's Messages API. The URL
// comes from [WithBaseURL], else ANTHROPIC_BASE_URL, else
// DefaultAnthropicBaseURL. The key comes from [WithAPIKey], else
// ANTHROPIC_API_KEY unless WithBaseURL was given (a key from the
// environment is not sent to a server named in code unasked), as with
// [NewOpenAI]. Without a key nothing authenticates the requests, which
// suits a local server that speaks the Messages API; Anthropic's own URL
// requires one, and NewAnthropic returns a *ConfigError matching
// ErrNoAPIKey when it has none. No other variable of the SDK's credential
// chain is read.
//
// It panics when an option is nil or belongs to another constructor.
func NewAnthropic(opts ...AnthropicOption) (*Anthropic, error) {
	cfg := config{}
	for i, o := range opts {
		applyOption(&cfg, "NewAnthropic", i, o)
	}
	base, err := endpoint(&cfg, ProviderAnthropic, EnvAnthropicBaseURL, EnvAnthropicAPIKey, DefaultAnthropicBaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.maxTokens == 0 {
		cfg.maxTokens = DefaultMaxTokens
	}
	httpClient := cfg.httpClient
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	ropts := []option.RequestOption{
		option.WithoutEnvironmentDefaults(),
		option.WithBaseURL(base),
		option.WithHTTPClient(httpClient),
		option.WithMaxRetries(0),
	}
	if cfg.apiKey.set() {
		ropts = append(ropts, option.WithAPIKey(cfg.apiKey.get()))
	}
	if cfg.sdkSpans {
		// Nil selects the global provider, as ours does. The SDK's span
		// carries the prompt and the reply only when ours does
		// (WithContentCapture), whatever its environment variable says.
		mode := option.OpenTelemetryContentModeMetadataOnly
		if cfg.captureContent {
			mode = option.OpenTelemetryContentModeContent
		}
		ropts = append(ropts, option.WithTracerProvider(cfg.telemetry.TracerProvider),
			option.WithOpenTelemetryTracesContentMode(mode))
	} else {
		ropts = append(ropts, option.WithoutOpenTelemetry())
	}
	// Only the SDK keeps the URL as given: a password in it is not
	// printed.
	cfg.baseURL = ""
	p := &Anthropic{
		client:    anthropic.NewClient(ropts...),
		cfg:       cfg,
		baseURL:   redactURL(base),
		telemetry: newInstrumentation(cfg.telemetry, ProviderAnthropic, base, cfg.captureContent),
	}
	return p, nil
}

// Name returns "anthropic".
func (p *Anthropic) Name() string { return ProviderAnthropic }

// Execute sends req and returns the reply. With req.OnDelta or
// req.OnToolCall set it streams, calling OnDelta with each piece of text
// and OnToolCall with each tool call once its arguments are complete; the
// Response is the same either way.
//
// Messages carry text, images (inline as a base64 source, or by URL),
// tool calls (tool_use blocks) and tool results (tool_result blocks, sent
// first in their user message as the API requires). Tools, ToolChoice
// and NoParallelToolCalls become tools and tool_choice (with
// disable_parallel_tool_use), and ResponseFormat becomes the structured
// output's output_config.format.
//
// Before anything is sent it refuses, with errors that are not retryable:
// a request with a Temperature (*TemperatureRejectedError), no messages,
// a role other than user or assistant, no model, or blocks, tools or a
// tool choice that make no sense, as docs/llm.md lists them
// (*recovery.InvalidInputError). A reply the model refused
// is a *RefusalError holding the reply. Failures of the call are
// *APIError, *ConnectionError or *ResponseError (a streamed tool call
// whose arguments are not a JSON object is one); a caller's cancelled
// context gives an error matching the context's.
func (p *Anthropic) Execute(ctx context.Context, req Request) (Response, error) {
	return execute(ctx, &p.cfg, &p.telemetry, req, p.execute)
}

func (p *Anthropic) execute(ctx context.Context, model string, maxTokens int, req *Request) (Response, string, error) {
	if req.Temperature != nil {
		return Response{}, "", &TemperatureRejectedError{Provider: ProviderAnthropic, Model: model, APIVersion: AnthropicAPIVersion}
	}
	if err := validate(req, model, maxTokens); err != nil {
		return Response{}, "", err
	}
	if err := validateContent(req); err != nil {
		return Response{}, "", err
	}
	params, err := anthropicParams(req, model, maxTokens)
	if err != nil {
		return Response{}, "", err
	}
	callCtx, cancel := withRequestTimeout(ctx, p.cfg.requestTimeout)
	defer cancel()
	var ropts []option.RequestOption
	if p.cfg.requestTimeout > 0 {
		// The context bounds the call; this only keeps the SDK from
		// refusing a large max_tokens without streaming.
		ropts = append(ropts, option.WithRequestTimeout(p.cfg.requestTimeout))
	}
	stream := req.OnDelta != nil || req.OnToolCall != nil
	if !stream && p.cfg.requestTimeout == 0 {
		if _, err := anthropic.CalculateNonStreamingTimeout(maxTokens, params.Model, nil); err != nil {
			// The SDK refuses a call that may last over 10 minutes
			// without streaming: stream it, invisibly to the caller.
			stream = true
		}
	}
	var msg *anthropic.Message
	if stream {
		msg, err = p.stream(callCtx, params, req.OnDelta, req.OnToolCall, ropts)
	} else {
		msg, err = p.client.Messages.New(callCtx, params, ropts...)
	}
	if err != nil {
		var re *ResponseError
		if ctx.Err() == nil && errors.As(err, &re) {
			return Response{}, "", err
		}
		return Response{}, "", classify(ctx, callCtx, ProviderAnthropic, p.cfg.apiKey, err)
	}
	resp := anthropicResponse(msg)
	// A refusal is an error, with the reply as it came (its usage is
	// billed) for the telemetry and the caller.
	return resp, msg.ID, anthropicRefusal(msg, &resp)
}

// validate refuses a request that no service would accept.
func validate(req *Request, model string, maxTokens int) error {
	if model == "" {
		return &recovery.InvalidInputError{Field: "Model", Reason: "no model: set Request.Model or pass llm.WithModel"}
	}
	if len(req.Messages) == 0 {
		return &recovery.InvalidInputError{Field: "Messages", Reason: "no messages"}
	}
	for i, m := range req.Messages {
		if m.Role != RoleUser && m.Role != RoleAssistant {
			return &recovery.InvalidInputError{Field: fmt.Sprintf("Messages[%d].Role", i),
				Reason: fmt.Sprintf("role %q is neither %q nor %q (the system prompt goes in Request.System)", m.Role, RoleUser, RoleAssistant)}
		}
	}
	if maxTokens < 0 {
		return &recovery.InvalidInputError{Field: "MaxTokens", Reason: "negative"}
	}
	return nil
}

func withRequestTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, d, errRequestTimeout)
}

// Format prints the provider's settings for every verb, never the key:
// llm.Anthropic{model: ..., base_url: ..., api_key: set}.
func (p *Anthropic) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, describe("Anthropic", p.cfg, p.baseURL))
}

// String returns what Format prints.
func (p *Anthropic) String() string { return describe("Anthropic", p.cfg, p.baseURL) }

// LogValue logs the provider as Format prints it.
func (p *Anthropic) LogValue() slog.Value { return slog.StringValue(p.String()) }

func describe(kind string, cfg config, baseURL string) string {
	key := "none"
	if cfg.apiKey.set() {
		key = "set"
	}
	model := cfg.model
	if model == "" {
		model = "(per request)"
	}
	return fmt.Sprintf("llm.%s{model: %s, base_url: %s, api_key: %s}", kind, model, baseURL, key)
}
