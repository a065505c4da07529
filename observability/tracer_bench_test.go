package observability_test

import (
	"testing"

	"github.com/ttadev/primitives/observability"
)

// BenchmarkTracerOff is what every traced combinator pays per execution
// when no tracer provider is installed.
func BenchmarkTracerOff(b *testing.B) {
	var p observability.Providers
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := p.Tracer(); ok {
			b.Fatal("tracing reported on")
		}
	}
}
