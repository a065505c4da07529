package sandbox

import (
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"time"

	"github.com/ttadev/primitives/internal/seal"
)

// CodeOption configures a [CodeExecution] built by [NewCodeExecution]. Every
// [Option] (the pool options: MaxSandboxes, MaxAge, SessionMode, ...) is
// also a CodeOption and configures the primitive's pool, and so is the
// telemetry option observability.Option.
type CodeOption interface {
	ForCodeExecution(seal.Token)
}

type codeOption func(*codeConfig)

func (codeOption) ForCodeExecution(seal.Token) {}

// Defaults of a CodeExecution, as in TTA.dev's Python primitive.
const (
	// DefaultTimeout bounds one execution unless the input or WithTimeout
	// says otherwise.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxOutputSize is the number of characters of output kept per
	// stream (stdout, stderr, logs, each result's text, the error value
	// and the traceback).
	DefaultMaxOutputSize = 10_000
)

type codeConfig struct {
	ownProvider   bool
	logLevel      slog.Level
	timeout       time.Duration
	maxOutput     int
	template      string
	templateSet   bool
	allowInternet bool
	internetSet   bool
	packageIndex  string
	trustedHost   string
	pool          []PoolOption
}

// WithTimeout sets the default time limit of an execution (TTA.dev's
// timeout, 30 s by default); CodeInput.Timeout overrides it per call. When
// it passes, Execute returns an error matching recovery.ErrTimeout and the
// sandbox is replaced. d <= 0 panics.
func WithTimeout(d time.Duration) CodeOption {
	if d <= 0 {
		panic(fmt.Sprintf("sandbox: WithTimeout(%s): timeout must be > 0", d))
	}
	return codeOption(func(c *codeConfig) { c.timeout = d })
}

// WithTemplate selects the sandbox template (E2B's template; backends
// without templates ignore it). It overrides the Template of
// WithCreateOptions.
func WithTemplate(name string) CodeOption {
	return codeOption(func(c *codeConfig) { c.template, c.templateSet = name, true })
}

// WithPipInstall(true) lets code in the sandboxes reach the network, which
// `pip install` needs. It overrides CreateOptions.AllowInternet.
//
// It is off by default, unlike TTA.dev's Python primitive (whose enable_pip_install defaulted
// to true): code produced by a model or sent by a user should not be able
// to download programs or send data out unless the application asked for
// it. Turn it on only when the code must install packages.
//
// On the local backend (sandbox/local), pip then installs into the
// sandbox's own site, importable from the next cell; with it off, pip
// stops at once with a message saying installs are off and how to turn
// them on. [WithPackageIndex] chooses the index.
func WithPipInstall(enable bool) CodeOption {
	return codeOption(func(c *codeConfig) { c.allowInternet, c.internetSet = enable, true })
}

// WithMaxOutputSize sets how many characters (Unicode code points) of each
// output are kept: stdout, stderr, logs, the text of each result, the
// error value and the traceback (10,000 by default, as in TTA.dev's Python primitive).
// Beyond it the text is cut, a visible marker saying how many characters
// were left out is appended, and CodeOutput.Truncated is set. n <= 0
// panics.
func WithMaxOutputSize(n int) CodeOption {
	if n <= 0 {
		panic(fmt.Sprintf("sandbox: WithMaxOutputSize(%d): size must be > 0", n))
	}
	return codeOption(func(c *codeConfig) { c.maxOutput = n })
}

// WithPoolOptions configures the primitive's pool with opts; it is the
// same as passing them to NewCodeExecution directly.
func WithPoolOptions(opts ...PoolOption) CodeOption {
	for i, o := range opts {
		if o == nil {
			panic(fmt.Sprintf("sandbox: WithPoolOptions: option %d is nil", i))
		}
	}
	return codeOption(func(c *codeConfig) { c.pool = append(c.pool, opts...) })
}

// WithSessionMaxAge is TTA.dev's session_max_age: it is [MaxAge] under
// TTA.dev's name (3300 s by default). A negative d panics.
func WithSessionMaxAge(d time.Duration) CodeOption {
	if d < 0 {
		panic(fmt.Sprintf("sandbox: WithSessionMaxAge(%s): age must be >= 0", d))
	}
	return MaxAge(d)
}

// OwnProvider makes the primitive own its provider: Close closes the pool
// and then the provider, when the provider has a Close method (Close()
// error, or Close(context.Context) error). Constructors that build their
// provider themselves (e2b.NewCodeExecutionPrimitive,
// local.NewCodeExecutionPrimitive) set it, so one Close releases
// everything; without it the caller closes the provider it passed in.
func OwnProvider() CodeOption {
	return codeOption(func(c *codeConfig) { c.ownProvider = true })
}

// LogExecutions sets the level of the one log record each execution
// writes (primitive, correlation_id, success, execution_time_ms,
// code_length). It is slog.LevelDebug by default, so a program that logs
// at Info sees none; give slog.LevelInfo to see every execution.
func LogExecutions(level slog.Level) CodeOption {
	return codeOption(func(c *codeConfig) { c.logLevel = level })
}

// WithPackageIndex makes pip in the sandboxes install from the package
// index at indexURL (a PEP 503 "simple" index, such as a mirror or a
// private index: "https://pypi.example.com/simple/") instead of PyPI. It
// sets PIP_INDEX_URL in the environment of every sandbox the primitive
// creates (sandbox.CreateOptions.Env, which both the local and the E2B
// backend pass on), and for an http URL PIP_TRUSTED_HOST too, so pip
// accepts the index without TLS. It does not turn installs on: that is
// [WithPipInstall](true). It applies whatever the order of the options
// (WithCreateOptions included). A URL that is not absolute http or https
// panics.
func WithPackageIndex(indexURL string) CodeOption {
	u, err := url.Parse(indexURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		panic(fmt.Sprintf("sandbox: WithPackageIndex(%q): want an absolute http or https URL", indexURL))
	}
	trusted := ""
	if u.Scheme == "http" {
		trusted = u.Host
	}
	return codeOption(func(c *codeConfig) { c.packageIndex, c.trustedHost = indexURL, trusted })
}

// applyPackageIndex adds the environment of WithPackageIndex to o.
func (c *codeConfig) applyPackageIndex(o *CreateOptions) {
	if c.packageIndex == "" {
		return
	}
	o.Env = maps.Clone(o.Env)
	if o.Env == nil {
		o.Env = map[string]string{}
	}
	o.Env["PIP_INDEX_URL"] = c.packageIndex
	if c.trustedHost != "" {
		o.Env["PIP_TRUSTED_HOST"] = c.trustedHost
	}
}
