package e2b

import (
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
)

// Environment variables read by [NewClient], the same as E2B's own SDKs.
const (
	EnvAPIKey         = "E2B_API_KEY"
	EnvDomain         = "E2B_DOMAIN"
	EnvAPIURL         = "E2B_API_URL"
	EnvSandboxURL     = "E2B_SANDBOX_URL"
	EnvDebug          = "E2B_DEBUG"
	EnvValidateAPIKey = "E2B_VALIDATE_API_KEY"
	// EnvTimeout is TTA.dev's E2B_TIMEOUT: the execution timeout in
	// seconds (E2B's own SDKs do not read it). WithTimeout overrides it.
	EnvTimeout = "E2B_TIMEOUT"
)

// Defaults, as in E2B's SDKs unless said otherwise.
const (
	// DefaultDomain is E2B's base domain (it was e2b.dev before March 2025).
	DefaultDomain = "e2b.app"
	// DefaultTemplate has the code interpreter on port 49999. The "base"
	// template has none: executions there fail with a 502 "port is not
	// open" error.
	DefaultTemplate = "code-interpreter-v1"
	// DefaultSandboxLifetime is how long a sandbox lives unless
	// [WithSandboxLifetime] or CreateOptions.Lifetime says otherwise.
	DefaultSandboxLifetime = 300 * time.Second
	// DefaultExecutionTimeout bounds one execution made through the
	// client when no timeout is given (the Python SDK's default). The
	// code-execution primitive has its own, shorter default (30 s).
	DefaultExecutionTimeout = 300 * time.Second
	// DefaultRequestTimeout bounds a control-plane call, and the time an
	// execution may wait for the response headers.
	DefaultRequestTimeout = 60 * time.Second
	// DefaultStartupWindow is how long after creation a 502 from the
	// sandbox proxy ("port is not open", "sandbox was not found") is
	// considered a sandbox still starting, hence retryable.
	DefaultStartupWindow = 30 * time.Second
	// DefaultMaxLineSize bounds one line of an execution stream. A line
	// holds one output chunk or one result; large images arrive as one
	// base64 line, so the bound is generous. Memory for a line is only
	// allocated as the line arrives.
	DefaultMaxLineSize = 32 << 20
	// CodeInterpreterPort is the code interpreter's port in a sandbox.
	CodeInterpreterPort = 49999
	// EnvdPort is the port of envd, the sandbox's process and file daemon.
	EnvdPort = 49983
)

// UserAgent is sent on every request.
const UserAgent = "ttadev-primitives-e2b-go/0.1"

var apiKeyShape = regexp.MustCompile(`^e2b_[0-9a-f]+$`)

// ClientOption configures [NewClient] and [NewProvider]: the options of
// this package that return [Option], and observability.Option (where
// spans and logs go). Options override environment variables. An option
// given an invalid value (a negative duration, a nil client) panics,
// following the module's convention for programmer errors.
type ClientOption interface {
	ForE2BClient(seal.Token)
}

// PrimitiveOption configures [NewCodeExecutionPrimitive]: every
// [Option], the primitive's own options ([WithPipInstall],
// [WithMaxOutputSize], [WithCodeOptions]) and observability.Option.
type PrimitiveOption interface {
	ForE2BPrimitive(seal.Token)
}

// Option configures the client, whichever constructor builds it: it is
// both a [ClientOption] and a [PrimitiveOption]. The options meant for
// the primitive only are PrimitiveOptions, so passing one to NewClient
// does not compile.
type Option interface {
	ClientOption
	PrimitiveOption
}

// clientOption adapts a function to Option.
type clientOption func(*config)

func (clientOption) ForE2BClient(seal.Token)    {}
func (clientOption) ForE2BPrimitive(seal.Token) {}

// primitiveOption adapts a function to PrimitiveOption.
type primitiveOption func(*primitiveConfig)

func (primitiveOption) ForE2BPrimitive(seal.Token) {}

// primitiveConfig is what NewCodeExecutionPrimitive adds to the client's
// configuration.
type primitiveConfig struct {
	pipInstall    *bool
	maxOutputSize int
	codeOpts      []sandbox.CodeOption
}

type config struct {
	apiKey         string
	apiKeySet      bool
	validateKey    bool
	validateSet    bool
	domain         string
	apiURL         string
	sandboxURL     string
	debug          bool
	debugSet       bool
	httpClient     *http.Client
	requestTimeout time.Duration
	execTimeout    time.Duration
	execTimeoutSet bool
	lifetime       time.Duration
	template       string
	metadata       map[string]string
	envVars        map[string]string
	secure         bool
	startupWindow  time.Duration
	maxLineSize    int
	telemetry      observability.Providers
	// telemetryOpts are the observability options given, passed on to
	// the primitive's pool.
	telemetryOpts []observability.Option
}

func defaultConfig() config {
	return config{
		validateKey:    true,
		requestTimeout: DefaultRequestTimeout,
		execTimeout:    DefaultExecutionTimeout,
		lifetime:       DefaultSandboxLifetime,
		template:       DefaultTemplate,
		secure:         true,
		startupWindow:  DefaultStartupWindow,
		maxLineSize:    DefaultMaxLineSize,
	}
}

// WithAPIKey sets the team API key instead of E2B_API_KEY. The key is
// checked when the client is built (shape "e2b_" followed by hex digits)
// and never printed.
func WithAPIKey(key string) Option {
	return clientOption(func(c *config) { c.apiKey, c.apiKeySet = key, true })
}

// WithoutAPIKeyValidation skips the local check of the key's shape (as
// E2B_VALIDATE_API_KEY=false does), for self-hosted deployments whose keys
// look different. A missing key is still an error.
func WithoutAPIKeyValidation() Option {
	return clientOption(func(c *config) { c.validateKey, c.validateSet = false, true })
}

// WithDomain sets the base domain instead of E2B_DOMAIN (default e2b.app).
func WithDomain(domain string) Option {
	if domain == "" {
		panic("e2b: WithDomain: domain is empty")
	}
	return clientOption(func(c *config) { c.domain = domain })
}

// WithAPIURL sets the control-plane base URL instead of E2B_API_URL
// (default https://api.{domain}).
func WithAPIURL(u string) Option {
	if u == "" {
		panic("e2b: WithAPIURL: URL is empty")
	}
	return clientOption(func(c *config) { c.apiURL = strings.TrimRight(u, "/") })
}

// WithSandboxURL sends every data-plane request to u instead of
// https://{port}-{sandboxID}.{domain}, as E2B_SANDBOX_URL does; the proxy
// behind u routes by the E2b-Sandbox-Id and E2b-Sandbox-Port headers.
func WithSandboxURL(u string) Option {
	if u == "" {
		panic("e2b: WithSandboxURL: URL is empty")
	}
	return clientOption(func(c *config) { c.sandboxURL = strings.TrimRight(u, "/") })
}

// WithDebug(true) behaves as E2B_DEBUG=true: no control-plane calls are
// made, "creating" a sandbox returns a handle to a code interpreter
// listening on http://localhost:49999, and no API key is needed.
func WithDebug(on bool) Option {
	return clientOption(func(c *config) { c.debug, c.debugSet = on, true })
}

// WithHTTPClient makes every request through hc (its transport, proxy and
// TLS settings). Its Timeout, if set, also bounds execution streams, so
// leave it 0 and use [WithTimeout] and [WithRequestTimeout]. Redirects are
// never followed, whatever hc.CheckRedirect says (a 3xx is an error), so
// that the key cannot be sent to another host; hc itself is not modified.
// A nil hc panics.
func WithHTTPClient(hc *http.Client) Option {
	if hc == nil {
		panic("e2b: WithHTTPClient: client is nil")
	}
	return clientOption(func(c *config) { c.httpClient = hc })
}

// WithRequestTimeout bounds each control-plane call and the wait for an
// execution's response headers (E2B's request_timeout, default 60 s).
// d <= 0 panics.
func WithRequestTimeout(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("e2b: WithRequestTimeout(%s): timeout must be > 0", d))
	}
	return clientOption(func(c *config) { c.requestTimeout = d })
}

// WithTimeout sets the execution timeout: how long one execution may run
// (TTA.dev's timeout). It is the default of the client's executions and
// of the primitive's, instead of E2B_TIMEOUT (seconds) or, without it,
// 300 s for the client and 30 s for the primitive; a per-call timeout
// overrides it. It is unrelated to the sandbox's lifetime, see
// [WithSandboxLifetime]. d <= 0 panics.
func WithTimeout(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("e2b: WithTimeout(%s): timeout must be > 0", d))
	}
	return clientOption(func(c *config) { c.execTimeout, c.execTimeoutSet = d, true })
}

// WithSandboxLifetime sets how long a created sandbox lives before E2B
// kills it (E2B's sandbox timeout, default 300 s, sent in whole seconds,
// at least 1). d <= 0 panics.
func WithSandboxLifetime(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("e2b: WithSandboxLifetime(%s): lifetime must be > 0", d))
	}
	return clientOption(func(c *config) { c.lifetime = d })
}

// WithTemplate selects the sandbox template (default
// "code-interpreter-v1"). The template must run the code interpreter:
// "base" does not. An empty name panics.
func WithTemplate(name string) Option {
	if name == "" {
		panic("e2b: WithTemplate: template name is empty")
	}
	return clientOption(func(c *config) { c.template = name })
}

// WithMetadata attaches metadata to every sandbox created (visible in
// List). The map is copied.
func WithMetadata(md map[string]string) Option {
	md = maps.Clone(md)
	return clientOption(func(c *config) { c.metadata = md })
}

// WithEnvVars sets environment variables in every sandbox created. The map
// is copied.
func WithEnvVars(env map[string]string) Option {
	env = maps.Clone(env)
	return clientOption(func(c *config) { c.envVars = env })
}

// WithSecure(false) asks for sandboxes without an envd access token
// (E2B's "secure", true by default).
func WithSecure(on bool) Option {
	return clientOption(func(c *config) { c.secure = on })
}

// WithStartupWindow sets how long after a sandbox's creation a 502 from
// E2B's proxy counts as "still starting" and is retryable (default 30 s).
// d < 0 panics; 0 makes such errors never retryable.
func WithStartupWindow(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("e2b: WithStartupWindow(%s): window must be >= 0", d))
	}
	return clientOption(func(c *config) { c.startupWindow = d })
}

// WithMaxLineSize bounds one line of an execution stream (default 32 MiB).
// A longer line ends the execution with a *ProtocolError. n < 1024 panics.
func WithMaxLineSize(n int) Option {
	if n < 1024 {
		panic(fmt.Sprintf("e2b: WithMaxLineSize(%d): size must be >= 1024", n))
	}
	return clientOption(func(c *config) { c.maxLineSize = n })
}

// WithPipInstall(true) lets code in the primitive's sandboxes reach the
// network, which pip install needs (E2B's allow_internet_access). It is
// used by [NewCodeExecutionPrimitive], whose default is false, unlike TTA.dev's
// Python primitive (see sandbox.WithPipInstall); a Provider sends what
// sandbox.CreateOptions.AllowInternet says.
func WithPipInstall(enable bool) PrimitiveOption {
	return primitiveOption(func(c *primitiveConfig) { c.pipInstall = &enable })
}

// WithMaxOutputSize sets how many characters of each output the primitive
// keeps (default 10,000, as in TTA.dev's Python primitive). n <= 0 panics.
func WithMaxOutputSize(n int) PrimitiveOption {
	if n <= 0 {
		panic(fmt.Sprintf("e2b: WithMaxOutputSize(%d): size must be > 0", n))
	}
	return primitiveOption(func(c *primitiveConfig) { c.maxOutputSize = n })
}

// WithCodeOptions passes options to the primitive built by
// [NewCodeExecutionPrimitive] and its pool (sandbox.MaxSandboxes,
// sandbox.SessionMode, sandbox.WithSessionMaxAge, ...). A nil option panics.
func WithCodeOptions(opts ...sandbox.CodeOption) PrimitiveOption {
	for _, o := range opts {
		if o == nil {
			panic("e2b: WithCodeOptions: nil option")
		}
	}
	return primitiveOption(func(c *primitiveConfig) { c.codeOpts = append(c.codeOpts, opts...) })
}

// resolve applies the environment, then opts, and checks the result.
// constructor names the caller in panics.
func resolve(constructor string, opts []ClientOption) (config, error) {
	c := defaultConfig()
	if v, ok := os.LookupEnv(EnvAPIKey); ok {
		c.apiKey = strings.TrimSpace(v)
	}
	if v := os.Getenv(EnvDomain); v != "" {
		c.domain = v
	}
	if v := os.Getenv(EnvAPIURL); v != "" {
		c.apiURL = strings.TrimRight(v, "/")
	}
	if v := os.Getenv(EnvSandboxURL); v != "" {
		c.sandboxURL = strings.TrimRight(v, "/")
	}
	if v := os.Getenv(EnvDebug); strings.EqualFold(v, "true") {
		c.debug = true
	}
	if v := os.Getenv(EnvValidateAPIKey); strings.EqualFold(v, "false") {
		c.validateKey = false
	}
	if v := strings.TrimSpace(os.Getenv(EnvTimeout)); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs <= 0 || secs > 86400 || math.IsNaN(secs) {
			return c, &ConfigError{Variable: EnvTimeout, Value: v,
				Reason: "want the execution timeout in seconds, a number in (0, 86400], such as 30"}
		}
		c.execTimeout, c.execTimeoutSet = time.Duration(secs*float64(time.Second)), true
	}
	for i, o := range opts {
		switch o := o.(type) {
		case clientOption:
			o(&c)
		case observability.Option:
			o.ApplyTo(&c.telemetry)
			c.telemetryOpts = append(c.telemetryOpts, o)
		case nil:
			panic(fmt.Sprintf("e2b: %s: option %d is nil", constructor, i))
		default:
			panic(fmt.Sprintf("e2b: %s: option %d (%T) is not an option of this package", constructor, i, o))
		}
	}
	if c.domain == "" {
		c.domain = DefaultDomain
	}
	if c.apiURL == "" {
		c.apiURL = "https://api." + c.domain
	}
	if c.httpClient == nil {
		c.httpClient = defaultHTTPClient()
	}
	c.httpClient = withoutRedirects(c.httpClient)
	if c.debug {
		return c, nil
	}
	if c.apiKey == "" {
		return c, &AuthenticationError{Message: "no API key: set " + EnvAPIKey + " or use e2b.WithAPIKey"}
	}
	if c.validateKey && !apiKeyShape.MatchString(c.apiKey) {
		return c, &AuthenticationError{Message: "the API key does not have the expected shape (\"e2b_\" followed by hex digits); it was not sent"}
	}
	return c, nil
}

// withoutRedirects returns a copy of hc that does not follow redirects.
// E2B answers none, and following one would send X-API-Key (which, unlike
// Authorization, Go forwards to any host) or a sandbox's access tokens to
// wherever it points. The 3xx itself is returned, hence an error.
func withoutRedirects(hc *http.Client) *http.Client {
	cp := *hc
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t}
}

// redactKey describes a secret without revealing any of it.
func redactKey(key string) string {
	if key == "" {
		return "(none)"
	}
	return fmt.Sprintf("(redacted, %d chars)", len(key))
}

// LogValue describes the configuration for slog with the key redacted.
func (c *config) logValue() slog.Value {
	return slog.GroupValue(
		slog.String("api_key", redactKey(c.apiKey)),
		slog.String("domain", c.domain),
		slog.String("api_url", c.apiURL),
		slog.String("sandbox_url", c.sandboxURL),
		slog.Bool("debug", c.debug),
		slog.String("template", c.template),
		slog.Duration("execution_timeout", c.execTimeout),
		slog.Duration("sandbox_lifetime", c.lifetime),
	)
}

func (c config) String() string {
	return fmt.Sprintf("e2b config{api_key: %s, domain: %s, api_url: %s, sandbox_url: %q, debug: %t, template: %s, execution_timeout: %s, sandbox_lifetime: %s}",
		redactKey(c.apiKey), c.domain, c.apiURL, c.sandboxURL, c.debug, c.template, c.execTimeout, c.lifetime)
}
