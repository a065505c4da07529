package observability

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// An SDK provider installed before this package's init must not be taken
// for the API's delegate, or no span would ever be recorded.
func TestDelegateTypeRecognisesOnlyTheAPIDelegate(t *testing.T) {
	if delegateType(otel.GetTracerProvider()) == nil {
		t.Fatal("the API's global delegate was not recognised")
	}
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	if delegateType(tp) != nil {
		t.Fatal("an SDK provider was taken for the API's delegate")
	}
	if delegateType(nil) != nil {
		t.Fatal("nil provider has a delegate type")
	}
}
