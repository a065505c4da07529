package observability

import (
	"reflect"
	"sync"

	"go.opentelemetry.io/otel/metric"
)

// InstrumentCache builds a primitive's metric instruments once per meter
// and hands them back on later executions, so the hot path does not create
// instruments. A meter whose type cannot be a map key gets its instruments
// built at each call instead of cached (correct, only slower).
//
// The cache holds every meter it has seen for the life of the process;
// meters come from meter providers, which programs create a few of. It is
// safe for concurrent use.
type InstrumentCache[T any] struct {
	build func(metric.Meter) T
	byMtr sync.Map // metric.Meter -> T
}

// NewInstrumentCache returns a cache that builds instruments with build.
func NewInstrumentCache[T any](build func(metric.Meter) T) *InstrumentCache[T] {
	return &InstrumentCache[T]{build: build}
}

// For returns the instruments of m, building them on first use.
func (c *InstrumentCache[T]) For(m metric.Meter) T {
	if !reflect.TypeOf(m).Comparable() {
		return c.build(m)
	}
	if v, ok := c.byMtr.Load(m); ok {
		return v.(T)
	}
	v, _ := c.byMtr.LoadOrStore(m, c.build(m))
	return v.(T)
}
