package sandbox

import (
	"fmt"
	"maps"
	"runtime"
	"time"

	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
)

// PoolOption configures a [Pool] built by [NewPool]: the options of this
// file, and the telemetry options of package observability.
type PoolOption interface {
	ForPool(seal.Token)
}

// Option configures both a [Pool] and a [CodeExecution]: given to
// [NewCodeExecution], it configures the pool the primitive creates. Every
// option of this file is an Option, and so is observability.Option.
type Option interface {
	PoolOption
	CodeOption
}

// poolOption adapts a function to Option; as a CodeOption it is forwarded
// to the primitive's pool.
type poolOption func(*poolConfig)

func (poolOption) ForPool(seal.Token)          {}
func (poolOption) ForCodeExecution(seal.Token) {}

// applyPoolOptions applies opts to c, panicking on a nil or foreign option.
func applyPoolOptions(constructor string, c *poolConfig, opts []PoolOption) {
	for i, o := range opts {
		switch o := o.(type) {
		case poolOption:
			o(c)
		case observability.Option:
			if o.IsZero() {
				panic(fmt.Sprintf("sandbox: %s: option %d is the zero observability.Option", constructor, i))
			}
			o.ApplyTo(&c.telemetry)
		case nil:
			panic(fmt.Sprintf("sandbox: %s: option %d is nil", constructor, i))
		default:
			panic(fmt.Sprintf("sandbox: %s: option %d (%T) is not an option of this package", constructor, i, o))
		}
	}
}

// Defaults of a Pool.
const (
	// DefaultMaxAge is TTA.dev's session_max_age: a sandbox is replaced
	// after 55 minutes, before E2B's one-hour lifetime ends.
	DefaultMaxAge = 3300 * time.Second
	// maxDefaultSandboxes caps the default bound on large machines.
	maxDefaultSandboxes = 8
)

type poolConfig struct {
	maxSandboxes int
	maxAge       time.Duration
	maxUses      int
	stateless    bool
	create       CreateOptions
	telemetry    observability.Providers
	closeTimeout time.Duration
	clock        recovery.Clock
}

// MaxSandboxesHinter is implemented by providers that know how many
// sandboxes a pool should keep when [MaxSandboxes] is not given (a remote
// backend is not bounded by the local CPU count). The hint is used when
// it is at least 1.
type MaxSandboxesHinter interface {
	DefaultMaxSandboxes() int
}

func defaultPoolConfig(p Provider) poolConfig {
	n := runtime.NumCPU()
	if n > maxDefaultSandboxes {
		n = maxDefaultSandboxes
	}
	if h, ok := p.(MaxSandboxesHinter); ok && h.DefaultMaxSandboxes() >= 1 {
		n = h.DefaultMaxSandboxes()
	}
	if n < 1 {
		n = 1
	}
	return poolConfig{
		maxSandboxes: n,
		maxAge:       DefaultMaxAge,
		stateless:    true,
		closeTimeout: 30 * time.Second,
		clock:        recovery.SystemClock,
	}
}

// MaxSandboxes bounds how many sandboxes the pool keeps alive at once
// (being created, idle or in use). Callers beyond the bound wait for a free
// sandbox. The default is the provider's hint ([MaxSandboxesHinter]; E2B's
// is 10), else the number of CPUs, at most 8. n < 1 panics.
func MaxSandboxes(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("sandbox: MaxSandboxes(%d): bound must be >= 1", n))
	}
	return poolOption(func(c *poolConfig) { c.maxSandboxes = n })
}

// MaxAge replaces a sandbox once it is older than d: it is closed when it
// is returned (or found idle) past that age, and a new one is created when
// needed. The default is [DefaultMaxAge] (TTA.dev's session_max_age of
// 3300 s); 0 disables rotation by age. A negative d panics.
//
// When CreateOptions.Lifetime is set, the pool rotates a sandbox once it has
// lived eleven twelfths of that lifetime (as TTA.dev's 3300 s does for
// E2B's one hour) if that comes first, so a run is not handed to a sandbox
// its backend is about to end.
func MaxAge(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("sandbox: MaxAge(%s): age must be >= 0", d))
	}
	return poolOption(func(c *poolConfig) { c.maxAge = d })
}

// MaxUses replaces a sandbox after it has been used n times (n leases, or
// n executions through Run). 0, the default, means no limit. A negative n
// panics.
func MaxUses(n int) Option {
	if n < 0 {
		panic(fmt.Sprintf("sandbox: MaxUses(%d): count must be >= 0", n))
	}
	return poolOption(func(c *poolConfig) { c.maxUses = n })
}

// Stateless gives every execution a fresh interpreter state: after each
// use the pool calls Sandbox.Reset (in the background, so the caller does
// not wait for it) and closes the sandbox if Reset fails. Results then do
// not depend on which sandbox ran the code or what ran before, which is
// what caching and retrying assume. This is the default.
//
// A fresh interpreter state is not a wall between callers who distrust
// each other: code can leave behind background processes, threads, files
// in its work directory or a patched interpreter that Reset does not
// undo, and that can watch later executions on the same sandbox. When
// executions come from different tenants, add MaxUses(1) so that each
// one gets a sandbox of its own (a new local sandbox costs tens of
// milliseconds; an E2B sandbox, a cold start).
func Stateless() Option {
	return poolOption(func(c *poolConfig) { c.stateless = true })
}

// SessionMode keeps interpreter state (variables, imports) across the
// executions of a sandbox, like a Jupyter kernel, as TTA.dev's Python primitive did with its
// single sandbox. With more than one sandbox, successive Run calls may land
// on different sandboxes; pin one with [Pool.Acquire], or use
// MaxSandboxes(1) to reproduce TTA.dev's behaviour exactly.
func SessionMode() Option {
	return poolOption(func(c *poolConfig) { c.stateless = false })
}

// WithCreateOptions sets the options every sandbox of the pool is created
// with (template, network access, environment, lifetime, metadata). The
// maps are copied.
func WithCreateOptions(o CreateOptions) Option {
	o.Env = maps.Clone(o.Env)
	o.Metadata = maps.Clone(o.Metadata)
	return poolOption(func(c *poolConfig) { c.create = o })
}

// WithClock makes the pool read the time from c instead of the wall clock
// (for MaxAge and the lifetime of sandboxes), so tests can age sandboxes
// without sleeping (see package recovery/recoverytest). A nil clock
// panics.
func WithClock(c recovery.Clock) Option {
	if c == nil {
		panic("sandbox: WithClock: clock is nil")
	}
	return poolOption(func(cfg *poolConfig) { cfg.clock = c })
}
