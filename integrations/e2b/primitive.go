package e2b

import (
	"fmt"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
)

// DefaultMaxSandboxes bounds the pool of [NewCodeExecutionPrimitive]
// unless sandbox.MaxSandboxes says otherwise: E2B sandboxes run on E2B's
// machines, so the local CPU count (the sandbox package's default) is
// not the limit; half of the free tier's 20 concurrent sandboxes leaves
// room for the team's other uses. Give the same bound to sandbox.NewPool
// over a [Provider].
const DefaultMaxSandboxes = 10

// NewCodeExecutionPrimitive is TTA.dev's CodeExecutionPrimitive on E2B: a
// primitives.Primitive[sandbox.CodeInput, sandbox.CodeOutput] running
// Python in E2B sandboxes taken from a pool (warm reuse, lazy creation,
// rotation after the session max age). TTA.dev's options map as follows:
//
//	api_key            WithAPIKey (else E2B_API_KEY)
//	timeout            WithTimeout (execution timeout, default 30 s)
//	template           WithTemplate (default "code-interpreter-v1"; "base" has no code interpreter)
//	enable_pip_install WithPipInstall (default off, see below)
//	max_output_size    WithMaxOutputSize (default 10,000 characters)
//
// Unlike TTA.dev's Python primitive, sandboxes get no internet access unless
// WithPipInstall(true) is given, as with the local backend: code from a
// model should not reach the network unless the application wants it.
// The pool keeps at most [DefaultMaxSandboxes] sandboxes (remote
// machines, so not bounded by the local CPU count; sandbox.MaxSandboxes
// in [WithCodeOptions] overrides it).
// The sandbox lifetime ([WithSandboxLifetime], default 300 s) is separate
// from the execution timeout; the pool rotates a sandbox before its
// lifetime ends. Extra pool options (sandbox.MaxSandboxes,
// sandbox.SessionMode, ...) are given with [WithCodeOptions], and so is
// sandbox.WithPackageIndex(url): it sets PIP_INDEX_URL (and for http
// PIP_TRUSTED_HOST) in the environment of every sandbox, next to
// [WithEnvVars], so pip installs from that index.
//
// observability.Option sets the telemetry of the client, the pool and the
// primitive at once.
//
// It fails like [NewClient] (missing or malformed key); invalid option
// values, and a nil option, panic. Close the primitive to kill its
// sandboxes.
func NewCodeExecutionPrimitive(opts ...PrimitiveOption) (*sandbox.CodeExecution, error) {
	var clientOpts []ClientOption
	var pc primitiveConfig
	for i, o := range opts {
		switch o := o.(type) {
		case clientOption:
			clientOpts = append(clientOpts, o)
		case observability.Option:
			clientOpts = append(clientOpts, o)
		case primitiveOption:
			o(&pc)
		case nil:
			panic(fmt.Sprintf("e2b: NewCodeExecutionPrimitive: option %d is nil", i))
		default:
			panic(fmt.Sprintf("e2b: NewCodeExecutionPrimitive: option %d (%T) is not an option of this package", i, o))
		}
	}
	c, err := newClient("NewCodeExecutionPrimitive", clientOpts)
	if err != nil {
		return nil, err
	}
	cfg := &c.cfg
	codeOpts := []sandbox.CodeOption{
		sandbox.OwnProvider(), // Close also closes the client's idle connections
		sandbox.MaxSandboxes(DefaultMaxSandboxes),
		sandbox.WithTemplate(cfg.template),
		sandbox.WithCreateOptions(sandbox.CreateOptions{
			Template: cfg.template, Lifetime: cfg.lifetime, Env: cfg.envVars, Metadata: cfg.metadata,
		}),
	}
	if cfg.execTimeoutSet {
		codeOpts = append(codeOpts, sandbox.WithTimeout(cfg.execTimeout))
	}
	if pc.pipInstall != nil {
		codeOpts = append(codeOpts, sandbox.WithPipInstall(*pc.pipInstall))
	}
	if pc.maxOutputSize > 0 {
		codeOpts = append(codeOpts, sandbox.WithMaxOutputSize(pc.maxOutputSize))
	}
	for _, o := range cfg.telemetryOpts {
		codeOpts = append(codeOpts, o)
	}
	codeOpts = append(codeOpts, pc.codeOpts...)
	return sandbox.NewCodeExecution(c.Provider(), codeOpts...), nil
}
