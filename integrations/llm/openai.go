package llm

import (
	"context"
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

// Execute sends req and returns the reply. With req.OnDelta set it
// streams, calling OnDelta with each piece of text, and asks for the usage
// in the last chunk (stream_options.include_usage), so the Response is the
// same either way. The system prompt is sent as a "system" message.
//
// Before anything is sent it refuses, with *recovery.InvalidInputError, a
// request with no messages, a role other than user or assistant, or no
// model. Failures of the call are *APIError, *ConnectionError or
// *ResponseError; a caller's cancelled context gives an error matching the
// context's.
func (p *OpenAI) Execute(ctx context.Context, req Request) (Response, error) {
	return execute(ctx, &p.cfg, &p.telemetry, req, p.execute)
}

func (p *OpenAI) execute(ctx context.Context, model string, maxTokens int, req *Request) (Response, string, error) {
	if err := validate(req, model, maxTokens); err != nil {
		return Response{}, "", err
	}
	n := len(req.Messages)
	if req.System != "" {
		n++
	}
	params := openai.ChatCompletionNewParams{
		Model:    model,
		Messages: make([]openai.ChatCompletionMessageParamUnion, 0, n),
	}
	if req.System != "" {
		params.Messages = append(params.Messages, openai.SystemMessage(req.System))
	}
	for _, m := range req.Messages {
		if m.Role == RoleUser {
			params.Messages = append(params.Messages, openai.UserMessage(m.Content))
		} else {
			params.Messages = append(params.Messages, openai.AssistantMessage(m.Content))
		}
	}
	if maxTokens > 0 {
		if p.cfg.legacyMax {
			params.MaxTokens = param.NewOpt(int64(maxTokens))
		} else {
			params.MaxCompletionTokens = param.NewOpt(int64(maxTokens))
		}
	}
	if len(req.StopSequences) > 0 {
		params.Stop = openai.ChatCompletionNewParamsStopUnion{OfStringArray: req.StopSequences}
	}
	if req.Temperature != nil {
		params.Temperature = param.NewOpt(*req.Temperature)
	}
	callCtx, cancel := withRequestTimeout(ctx, p.cfg.requestTimeout)
	defer cancel()
	var (
		resp Response
		id   string
		err  error
	)
	if req.OnDelta != nil {
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: param.NewOpt(true)}
		resp, id, err = p.stream(callCtx, params, req.OnDelta)
	} else {
		var cc *openai.ChatCompletion
		cc, err = p.chat.New(callCtx, params)
		if err == nil {
			if len(cc.Choices) == 0 {
				return Response{}, "", &ResponseError{Provider: ProviderOpenAI, Err: fmt.Errorf("completion %q has no choices", cc.ID)}
			}
			resp = Response{
				Text:       cc.Choices[0].Message.Content,
				Model:      cc.Model,
				StopReason: cc.Choices[0].FinishReason,
				Usage:      openAIUsage(cc.Usage),
			}
			id = cc.ID
		}
	}
	if err != nil {
		return Response{}, "", classify(ctx, callCtx, ProviderOpenAI, p.cfg.apiKey, err)
	}
	return resp, id, nil
}

func (p *OpenAI) stream(ctx context.Context, params openai.ChatCompletionNewParams, onDelta func(string)) (Response, string, error) {
	s := p.chat.NewStreaming(ctx, params)
	defer s.Close()
	var (
		resp Response
		id   string
		text []byte
	)
	for s.Next() {
		chunk := s.Current()
		if id == "" {
			id = chunk.ID
		}
		if chunk.Model != "" {
			resp.Model = chunk.Model
		}
		for _, ch := range chunk.Choices {
			if ch.Index != 0 {
				continue
			}
			if ch.Delta.Content != "" {
				text = append(text, ch.Delta.Content...)
				onDelta(ch.Delta.Content)
			}
			if ch.FinishReason != "" {
				resp.StopReason = ch.FinishReason
			}
		}
		if chunk.JSON.Usage.Valid() {
			resp.Usage = openAIUsage(chunk.Usage)
		}
	}
	if err := s.Err(); err != nil {
		return Response{}, "", err
	}
	if resp.StopReason == "" {
		// Every server sends a finish_reason in the last chunk of
		// choices; a stream without one was cut short.
		return Response{}, "", fmt.Errorf("stream ended before a finish_reason: %w", io.ErrUnexpectedEOF)
	}
	resp.Text = string(text)
	return resp, id, nil
}

func openAIUsage(u openai.CompletionUsage) Usage {
	return Usage{
		InputTokens:              u.PromptTokens,
		OutputTokens:             u.CompletionTokens,
		CacheReadInputTokens:     u.PromptTokensDetails.CachedTokens,
		CacheCreationInputTokens: u.PromptTokensDetails.CacheWriteTokens,
	}
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
