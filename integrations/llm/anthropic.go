package llm

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
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

// Execute sends req and returns the reply. With req.OnDelta set it
// streams, calling OnDelta with each piece of text; the Response is the
// same either way.
//
// Before anything is sent it refuses, with errors that are not retryable:
// a request with a Temperature (*TemperatureRejectedError), no messages,
// a role other than user or assistant, or no model
// (*recovery.InvalidInputError). Failures of the call are *APIError,
// *ConnectionError or *ResponseError; a caller's cancelled context gives
// an error matching the context's.
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
	params := anthropic.MessageNewParams{
		Model:         anthropic.Model(model),
		MaxTokens:     int64(maxTokens),
		Messages:      make([]anthropic.MessageParam, len(req.Messages)),
		StopSequences: req.StopSequences,
	}
	if req.System != "" {
		params.System = []anthropic.TextBlockParam{{Text: req.System}}
	}
	for i, m := range req.Messages {
		if m.Role == RoleUser {
			params.Messages[i] = anthropic.NewUserMessage(anthropic.NewTextBlock(m.Content))
		} else {
			params.Messages[i] = anthropic.NewAssistantMessage(anthropic.NewTextBlock(m.Content))
		}
	}
	callCtx, cancel := withRequestTimeout(ctx, p.cfg.requestTimeout)
	defer cancel()
	var ropts []option.RequestOption
	if p.cfg.requestTimeout > 0 {
		// The context bounds the call; this only keeps the SDK from
		// refusing a large max_tokens without streaming.
		ropts = append(ropts, option.WithRequestTimeout(p.cfg.requestTimeout))
	}
	stream := req.OnDelta != nil
	if !stream && p.cfg.requestTimeout == 0 {
		if _, err := anthropic.CalculateNonStreamingTimeout(maxTokens, params.Model, nil); err != nil {
			// The SDK refuses a call that may last over 10 minutes
			// without streaming: stream it, invisibly to the caller.
			stream = true
		}
	}
	var msg *anthropic.Message
	var err error
	if stream {
		msg, err = p.stream(callCtx, params, req.OnDelta, ropts)
	} else {
		msg, err = p.client.Messages.New(callCtx, params, ropts...)
	}
	if err != nil {
		return Response{}, "", classify(ctx, callCtx, ProviderAnthropic, p.cfg.apiKey, err)
	}
	var text strings.Builder
	for _, block := range msg.Content {
		if block.Type == "text" {
			text.WriteString(block.Text)
		}
	}
	return Response{
		Text:       text.String(),
		Model:      string(msg.Model),
		StopReason: string(msg.StopReason),
		Usage: Usage{
			// Anthropic's input_tokens leaves out the cached part.
			InputTokens:              msg.Usage.InputTokens + msg.Usage.CacheReadInputTokens + msg.Usage.CacheCreationInputTokens,
			OutputTokens:             msg.Usage.OutputTokens,
			CacheReadInputTokens:     msg.Usage.CacheReadInputTokens,
			CacheCreationInputTokens: msg.Usage.CacheCreationInputTokens,
		},
	}, msg.ID, nil
}

// stream runs a streaming call, passing text deltas to onDelta (nil when
// the call streams only because it may be long), and returns the whole
// message.
func (p *Anthropic) stream(ctx context.Context, params anthropic.MessageNewParams, onDelta func(string), ropts []option.RequestOption) (*anthropic.Message, error) {
	s := p.client.Messages.NewStreaming(ctx, params, ropts...)
	defer s.Close()
	var msg anthropic.Message
	stopped := false
	for s.Next() {
		ev := s.Current()
		if err := msg.Accumulate(ev); err != nil {
			return nil, &ResponseError{Provider: ProviderAnthropic, Err: err}
		}
		switch ev.Type {
		case "content_block_delta":
			if onDelta != nil && ev.Delta.Type == "text_delta" && ev.Delta.Text != "" {
				onDelta(ev.Delta.Text)
			}
		case "message_stop":
			stopped = true
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	if !stopped {
		return nil, fmt.Errorf("stream ended before message_stop: %w", io.ErrUnexpectedEOF)
	}
	return &msg, nil
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
