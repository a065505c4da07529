package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ttadev/primitives/integrations/codeexec"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
)

// observe is the page's "Observability", wired to the OpenTelemetry SDK:
// spans printed as JSON lines by the stdout exporter, metrics read with a
// ManualReader (a Prometheus exporter on loopback is in
// examples/observability), and the log records as JSON. One option hands
// all three to everything the constructor builds.
func observe(ctx context.Context, w io.Writer) error {
	exporter, err := stdouttrace.New(stdouttrace.WithWriter(w))
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter)) // WithBatcher in production
	defer tp.Shutdown(ctx)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	logger := slog.New(slog.NewJSONHandler(w, nil))
	executor, err := codeexec.FromEnv(observability.WithProviders(observability.Providers{TracerProvider: tp, MeterProvider: mp, Logger: logger}),
		codeexec.WithCodeOptions(sandbox.LogExecutions(slog.LevelInfo))) // one record per execution, at Info
	if err != nil {
		return err
	}
	defer executor.Close(ctx)
	for _, code := range []string{"print(6 * 7)", "1 / 0"} { // a success, then a Python exception
		if _, err := executor.Execute(ctx, sandbox.CodeInput{Code: code}); err != nil {
			return err
		}
	}
	return printMetrics(ctx, w, reader)
}

// printMetrics reads the metrics once and prints each one's total.
func printMetrics(ctx context.Context, w io.Writer, reader sdkmetric.Reader) error {
	var metrics metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &metrics); err != nil {
		return err
	}
	for _, scope := range metrics.ScopeMetrics {
		for _, m := range scope.Metrics {
			switch data := m.Data.(type) { // one data point per set of attributes (success, error.type)
			case metricdata.Sum[int64]:
				var n int64
				for _, dp := range data.DataPoints {
					n += dp.Value
				}
				fmt.Fprintf(w, "metric %s = %d\n", m.Name, n)
			case metricdata.Histogram[float64]:
				var n uint64
				for _, dp := range data.DataPoints {
					n += dp.Count
				}
				fmt.Fprintf(w, "metric %s: %d observations\n", m.Name, n)
			}
		}
	}
	return nil
}
