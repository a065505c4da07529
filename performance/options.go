package performance

import (
	"fmt"

	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/observability"
)

// Each constructor of this package takes options of its own type, so an
// option meant for another constructor does not compile. [Name] applies
// to all three, [MaxWait] to Bulkhead and RateLimit, and the telemetry
// option of the module, observability.Option, to all of them. Without
// telemetry options the OpenTelemetry globals and slog.Default() are
// used: spans read the global tracer provider at each execution; metric
// instruments are created once, at construction, from the meter provider
// then in force (the OpenTelemetry global forwards them to a provider
// installed later).

// CacheOption configures [Cache] and [CacheBy].
type CacheOption interface{ ForCache(seal.Token) }

// BulkheadOption configures [Bulkhead].
type BulkheadOption interface{ ForBulkhead(seal.Token) }

// RateLimitOption configures [RateLimit].
type RateLimitOption interface{ ForRateLimit(seal.Token) }

// NameOption names a cache, bulkhead or rate limit in its metrics and
// spans (attribute "cache.name" or "limit.name"), so that several of them
// can be told apart. Build it with [Name].
type NameOption struct{ name string }

// ForCache marks NameOption as an option of Cache.
func (NameOption) ForCache(seal.Token) {}

// ForBulkhead marks NameOption as an option of Bulkhead.
func (NameOption) ForBulkhead(seal.Token) {}

// ForRateLimit marks NameOption as an option of RateLimit.
func (NameOption) ForRateLimit(seal.Token) {}

// Name names a primitive in its metrics and spans. An empty name panics.
func Name(name string) NameOption {
	if name == "" {
		panic("performance: Name: name is empty")
	}
	return NameOption{name: name}
}

// applyOptions applies opts in order: an observability.Option to tel, a
// NameOption to name, the constructor's own options through apply (which
// reports whether it knew the option). A nil, zero or foreign option
// panics.
func applyOptions[O any](constructor string, opts []O, tel *observability.Providers, name *string, apply func(O) bool) {
	for i, o := range opts {
		switch v := any(o).(type) {
		case nil:
			panic(fmt.Sprintf("performance: %s: option %d is nil", constructor, i))
		case observability.Option:
			if v.IsZero() {
				panic(fmt.Sprintf("performance: %s: option %d is the zero observability.Option", constructor, i))
			}
			v.ApplyTo(tel)
		case NameOption:
			if v.name == "" {
				panic(fmt.Sprintf("performance: %s: option %d is a zero NameOption", constructor, i))
			}
			*name = v.name
		default:
			if !apply(o) {
				panic(fmt.Sprintf("performance: %s: option %d (%T) is not an option of %s", constructor, i, o, constructor))
			}
		}
	}
}
