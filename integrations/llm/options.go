package llm

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/observability"
)

// Environment variables read by the constructors when the matching option
// is not given.
const (
	EnvAnthropicAPIKey  = "ANTHROPIC_API_KEY"
	EnvAnthropicBaseURL = "ANTHROPIC_BASE_URL"
	EnvOpenAIAPIKey     = "OPENAI_API_KEY"
	EnvOpenAIBaseURL    = "OPENAI_BASE_URL"
)

// Defaults of the options.
const (
	// DefaultAnthropicBaseURL is Anthropic's API.
	DefaultAnthropicBaseURL = "https://api.anthropic.com/"
	// DefaultOpenAIBaseURL is OpenAI's API.
	DefaultOpenAIBaseURL = "https://api.openai.com/v1/"
	// DefaultMaxTokens is the reply limit the Anthropic provider sends
	// when neither the request nor WithMaxTokens sets one (the Messages
	// API requires a limit). The OpenAI provider sends none by default.
	DefaultMaxTokens = 4096
)

// AnthropicOption configures [NewAnthropic]: the options of this package
// that return Option or AnthropicOption, and observability.Option.
type AnthropicOption interface {
	ForAnthropic(seal.Token)
}

// OpenAIOption configures [NewOpenAI]: the options of this package that
// return Option or OpenAIOption, and observability.Option.
type OpenAIOption interface {
	ForOpenAI(seal.Token)
}

// Option is an option accepted by both [NewAnthropic] and [NewOpenAI].
// Build it with the With functions of this package; the zero Option
// panics when used.
type Option struct {
	apply func(*config)
}

// ForAnthropic marks Option as an option of NewAnthropic.
func (Option) ForAnthropic(seal.Token) {}

// ForOpenAI marks Option as an option of NewOpenAI.
func (Option) ForOpenAI(seal.Token) {}

type anthropicOnly func(*config)

// ForAnthropic marks an Anthropic-only option.
func (anthropicOnly) ForAnthropic(seal.Token) {}

type openAIOnly func(*config)

// ForOpenAI marks an OpenAI-only option.
func (openAIOnly) ForOpenAI(seal.Token) {}

// config is what the options set.
type config struct {
	apiKey         secret
	baseURL        string
	baseURLSet     bool
	model          string
	maxTokens      int
	httpClient     *http.Client
	requestTimeout time.Duration
	telemetry      observability.Providers
	captureContent bool
	sdkSpans       bool
	legacyMax      bool
}

// secret holds an API key inside a closure: fmt prints a func as an
// address whatever the verb and however deep it is nested, so printing a
// config (or a provider) by reflection never shows the key. Its methods
// never reveal it either.
type secret func() string

func newSecret(v string) secret { return func() string { return v } }

func (s secret) get() string {
	if s == nil {
		return ""
	}
	return s()
}

func (s secret) set() bool { return s.get() != "" }

// String returns "[redacted]".
func (secret) String() string { return "[redacted]" }

// GoString returns "[redacted]".
func (secret) GoString() string { return "[redacted]" }

// Format writes "[redacted]" for every verb.
func (secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[redacted]")) }

// WithAPIKey sets the API key, instead of ANTHROPIC_API_KEY or
// OPENAI_API_KEY. The key is sent as "Authorization: Bearer <key>" and
// appears nowhere else: not in errors, spans, logs or any fmt verb of the
// provider. It panics when key is empty.
func WithAPIKey(key string) Option {
	if key == "" {
		panic("llm: WithAPIKey: empty key")
	}
	s := newSecret(key)
	return Option{apply: func(c *config) { c.apiKey = s }}
}

// WithBaseURL sets the service's URL, instead of ANTHROPIC_BASE_URL or
// OPENAI_BASE_URL. For an OpenAI-compatible server give the URL that its
// "/chat/completions" path hangs from, e.g. "http://localhost:11434/v1/"
// for Ollama, "http://localhost:8000/v1/" for vLLM or
// "http://localhost:8080/v1/" for a llama.cpp server.
//
// An explicit base URL stops ANTHROPIC_API_KEY and OPENAI_API_KEY from
// being used: a key from the environment is not sent to a server named in
// code unless WithAPIKey gives it (without one, no key is sent). It
// panics when u is not an absolute http(s) URL.
func WithBaseURL(u string) Option {
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		panic(fmt.Sprintf("llm: WithBaseURL: %q is not an absolute http or https URL", redactURL(u)))
	}
	return Option{apply: func(c *config) { c.baseURL = u; c.baseURLSet = true }}
}

// endpoint resolves the base URL and the API key of a provider, by the one
// policy every provider of this package follows:
//
//   - the URL comes from WithBaseURL, else the variable envURL, else def;
//   - the key comes from WithAPIKey, else the variable envKey, but the
//     variable only when the URL does not come from WithBaseURL: a key
//     from the environment goes to the service's own URL or to the URL
//     from the same environment, never to a server named in code unless
//     WithAPIKey gives it;
//   - without a key, the service's own URL (def) is a *ConfigError
//     matching ErrNoAPIKey; another server gets no key (a local server
//     needs none).
//
// It sets cfg.apiKey and returns the URL.
func endpoint(cfg *config, provider, envURL, envKey, def string) (string, error) {
	base := cfg.baseURL
	if base == "" {
		base = os.Getenv(envURL)
	}
	if base == "" {
		base = def
	}
	if !cfg.apiKey.set() && !cfg.baseURLSet {
		if v := os.Getenv(envKey); v != "" {
			cfg.apiKey = newSecret(v)
		}
	}
	if !cfg.apiKey.set() && base == def {
		return "", &ConfigError{Provider: provider, Err: ErrNoAPIKey,
			Reason: "no API key for " + def + ": set " + envKey + " or pass llm.WithAPIKey (for another server, set " +
				envURL + " or pass llm.WithBaseURL)"}
	}
	return base, nil
}

// WithModel sets the model used when a Request names none.
// It panics when model is empty.
func WithModel(model string) Option {
	if model == "" {
		panic("llm: WithModel: empty model")
	}
	return Option{apply: func(c *config) { c.model = model }}
}

// WithMaxTokens sets the reply limit used when a Request sets none
// (Anthropic's default is DefaultMaxTokens; OpenAI's is the server's).
// It panics when n is not positive.
func WithMaxTokens(n int) Option {
	if n <= 0 {
		panic(fmt.Sprintf("llm: WithMaxTokens: value must be positive, got %d", n))
	}
	return Option{apply: func(c *config) { c.maxTokens = n }}
}

// WithHTTPClient sends the requests through client instead of a client of
// the provider's own (which has no overall timeout: the context bounds a
// call). It panics when client is nil.
func WithHTTPClient(client *http.Client) Option {
	if client == nil {
		panic("llm: WithHTTPClient: nil client")
	}
	return Option{apply: func(c *config) { c.httpClient = client }}
}

// WithRequestTimeout bounds one call, streaming included; 0 (the default)
// leaves the bound to the context (and, for a non-streaming Anthropic
// call, to the SDK's own limit of 10 minutes). A call that runs out of
// time fails with a retryable *ConnectionError. It panics when d is
// negative.
func WithRequestTimeout(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("llm: WithRequestTimeout: value must not be negative, got %s", d))
	}
	return Option{apply: func(c *config) { c.requestTimeout = d }}
}

// WithContentCapture puts the prompt and the reply on the call's span, as
// the attributes gen_ai.system_instructions, gen_ai.input.messages and
// gen_ai.output.messages. They are left out by default: prompts and
// replies may hold personal or secret data.
func WithContentCapture() Option {
	return Option{apply: func(c *config) { c.captureContent = true }}
}

// WithSDKSpans keeps the span that the Anthropic SDK makes of each HTTP
// call ("anthropic.messages.create", with the URL, the status and the
// request id). It is then a child of this package's "chat <model>" span
// and goes to the same tracer provider; it carries the prompt and the
// reply only with WithContentCapture. It is off by default, so a call
// makes exactly one span and its token counts are not reported twice.
func WithSDKSpans() AnthropicOption {
	return anthropicOnly(func(c *config) { c.sdkSpans = true })
}

// WithLegacyMaxTokens makes the OpenAI provider send the reply limit as
// "max_tokens" instead of "max_completion_tokens", for an older
// OpenAI-compatible server that knows only the former. OpenAI's reasoning
// models refuse "max_tokens".
func WithLegacyMaxTokens() OpenAIOption {
	return openAIOnly(func(c *config) { c.legacyMax = true })
}

func applyOption(c *config, constructor string, i int, o any) {
	switch o := o.(type) {
	case Option:
		if o.apply == nil {
			panic(fmt.Sprintf("llm: %s: option %d is the zero Option", constructor, i))
		}
		o.apply(c)
	case anthropicOnly:
		o(c)
	case openAIOnly:
		o(c)
	case observability.Option:
		o.ApplyTo(&c.telemetry)
	case nil:
		panic(fmt.Sprintf("llm: %s: option %d is nil", constructor, i))
	default:
		panic(fmt.Sprintf("llm: %s: option %d (%T) is not an option of this package", constructor, i, o))
	}
}

// redactURL drops the user information (a password) from u for messages.
func redactURL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return "[unparsable URL]"
	}
	if parsed.User != nil {
		parsed.User = url.User("redacted")
	}
	return parsed.String()
}
