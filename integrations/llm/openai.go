package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
)

// ProviderOpenAI is the Name of the OpenAI provider and its
// gen_ai.provider.name.
const ProviderOpenAI = "openai"

// OpenAI is a [Provider] for the Chat Completions API of OpenAI and of
// every server that speaks it (Ollama, vLLM, the llama.cpp server, ...),
// built on the official Go SDK. Create it with [NewOpenAI].
//
// The SDK's own retries are off: a failed call fails once, with a typed
// error that recovery.Retry classifies (see [APIError]). OpenAI is safe
// for concurrent use; a call costs one HTTP request.
type OpenAI struct {
	chat      openai.ChatCompletionService
	cfg       config
	baseURL   string
	telemetry instrumentation
}

var _ Provider = (*OpenAI)(nil)

// NewOpenAI returns a provider for the Chat Completions API. The URL comes
// from [WithBaseURL], else OPENAI_BASE_URL, else DefaultOpenAIBaseURL. The
// key comes from [WithAPIKey], else OPENAI_API_KEY unless WithBaseURL was
// given (a key meant for OpenAI is not sent to another server unasked).
// Without a key no Authorization header is sent, which suits a local
// server; OpenAI's own URL requires one, and NewOpenAI returns a
// *ConfigError matching ErrNoAPIKey when it has none. No other variable
// is read (OPENAI_ORG_ID and the like are not).
//
// It panics when an option is nil or belongs to another constructor.
func NewOpenAI(opts ...OpenAIOption) (*OpenAI, error) {
	cfg := config{}
	for i, o := range opts {
		applyOption(&cfg, "NewOpenAI", i, o)
	}
	base := cfg.baseURL
	if base == "" {
		base = os.Getenv(EnvOpenAIBaseURL)
	}
	if base == "" {
		base = DefaultOpenAIBaseURL
	}
	if !cfg.apiKey.set() && !cfg.baseURLSet {
		if v := os.Getenv(EnvOpenAIAPIKey); v != "" {
			cfg.apiKey = newSecret(v)
		}
	}
	if !cfg.apiKey.set() && base == DefaultOpenAIBaseURL {
		return nil, &ConfigError{Provider: ProviderOpenAI, Err: ErrNoAPIKey,
			Reason: "no API key for " + DefaultOpenAIBaseURL + ": set " + EnvOpenAIAPIKey +
				" or pass llm.WithAPIKey (for a local OpenAI-compatible server, set " + EnvOpenAIBaseURL + " or pass llm.WithBaseURL)"}
	}
	httpClient := cfg.httpClient
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	ropts := []option.RequestOption{
		option.WithBaseURL(base),
		option.WithHTTPClient(httpClient),
		option.WithMaxRetries(0),
	}
	if cfg.apiKey.set() {
		ropts = append(ropts, option.WithAPIKey(cfg.apiKey.get()))
	}
	cfg.baseURL = "" // only the SDK keeps the URL as given
	return &OpenAI{
		chat:      openai.NewChatCompletionService(ropts...),
		cfg:       cfg,
		baseURL:   redactURL(base),
		telemetry: newInstrumentation(cfg.telemetry, ProviderOpenAI, base, cfg.captureContent),
	}, nil
}

// Name returns "openai".
func (p *OpenAI) Name() string { return ProviderOpenAI }

// Execute sends req and returns the reply. With req.OnDelta or
// req.OnToolCall set it streams, calling OnDelta with each piece of text
// and OnToolCall with each tool call once its arguments are complete, and
// asks for the usage in the last chunk (stream_options.include_usage), so
// the Response is the same either way. The system prompt is sent as a
// "system" message; each ToolResult as a message of role "tool" (see
// docs/llm.md for how images of results and failed calls are sent).
//
// Before anything is sent it refuses, with *recovery.InvalidInputError, a
// request with no messages, a role other than user or assistant, no
// model, a block in the wrong role's message, an Image with neither or
// both of Data and URL or with Data of an unsupported MediaType, a tool
// call or result without an id, a tool name that is not 1 to 64 letters,
// digits, '_' or '-' or that two tools share, or a ToolChoice naming no
// tool or an unknown one. A reply that refuses (the message's refusal
// field) or that the content filter cut is a *RefusalError; tool call
// arguments that are not valid JSON are a *ResponseError. Failures of the
// call are *APIError, *ConnectionError or *ResponseError; a caller's
// cancelled context gives an error matching the context's.
func (p *OpenAI) Execute(ctx context.Context, req Request) (Response, error) {
	return execute(ctx, &p.cfg, &p.telemetry, req, p.execute)
}

func (p *OpenAI) execute(ctx context.Context, model string, maxTokens int, req *Request) (Response, string, error) {
	if err := validate(req, model, maxTokens); err != nil {
		return Response{}, "", err
	}
	params, err := openAIParams(req, model, maxTokens, p.cfg.legacyMax)
	if err != nil {
		return Response{}, "", err
	}
	callCtx, cancel := withRequestTimeout(ctx, p.cfg.requestTimeout)
	defer cancel()
	var (
		resp Response
		id   string
	)
	if req.OnDelta != nil || req.OnToolCall != nil {
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: param.NewOpt(true)}
		resp, id, err = p.stream(callCtx, params, req.OnDelta, req.OnToolCall)
	} else {
		var cc *openai.ChatCompletion
		if cc, err = p.chat.New(callCtx, params); err == nil {
			return openAIResponse(cc)
		}
	}
	if err != nil {
		var refusal *RefusalError
		var bad *ResponseError
		if errors.As(err, &refusal) || errors.As(err, &bad) {
			return Response{}, "", err
		}
		return Response{}, "", classify(ctx, callCtx, ProviderOpenAI, p.cfg.apiKey, err)
	}
	return resp, id, nil
}

// Format prints the provider's settings for every verb, never the key:
// llm.OpenAI{model: ..., base_url: ..., api_key: set}.
func (p *OpenAI) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, describe("OpenAI", p.cfg, p.baseURL))
}

// String returns what Format prints.
func (p *OpenAI) String() string { return describe("OpenAI", p.cfg, p.baseURL) }

// LogValue logs the provider as Format prints it.
func (p *OpenAI) LogValue() slog.Value { return slog.StringValue(p.String()) }
