package primitives

import "go.opentelemetry.io/otel"

// otelError reports an instrumentation problem through the OpenTelemetry
// error handler, as the SDKs do.
func otelError(err error) { otel.Handle(err) }
