package llm

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ttadev/primitives/observability"
)

// Bucket boundaries advised by the GenAI conventions.
var (
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
)

type genAIInstruments struct {
	tokens   metric.Int64Histogram
	duration metric.Float64Histogram
}

// meterCache keeps the instruments of the meter a provider used last. It
// belongs to one provider, so a meter is kept alive by the providers that
// use it and by nothing global: once they are gone, it can be collected.
// The meter is read at every call (the global meter provider may be
// installed after the provider was built); a new meter gets new
// instruments, replacing the old.
type meterCache struct {
	last atomic.Pointer[meterInstruments]
}

type meterInstruments struct {
	meter metric.Meter
	inst  genAIInstruments
}

// instruments returns the instruments of m, building them when m is not
// the meter of the last call. A meter of a type that cannot be compared
// gets new instruments at every call (the SDK's meters are pointers), as
// does a nil cache.
func (c *meterCache) instruments(m metric.Meter) *genAIInstruments {
	// Comparing is safe: only a comparable meter is stored, and two
	// interface values of different dynamic types compare unequal without
	// looking at the values.
	if c == nil {
		inst := newInstruments(m)
		return &inst
	}
	if last := c.last.Load(); last != nil && last.meter == m {
		return &last.inst
	}
	mi := &meterInstruments{meter: m, inst: newInstruments(m)}
	if reflect.TypeOf(m).Comparable() {
		c.last.Store(mi)
	}
	return &mi.inst
}

func newInstruments(m metric.Meter) genAIInstruments {
	var inst genAIInstruments
	var err1, err2 error
	inst.tokens, err1 = m.Int64Histogram(observability.MetricGenAIClientTokenUsage,
		metric.WithDescription("Number of input and output tokens used."),
		metric.WithUnit("{token}"), metric.WithExplicitBucketBoundaries(tokenBuckets...))
	inst.duration, err2 = m.Float64Histogram(observability.MetricGenAIClientOperationDuration,
		metric.WithDescription("GenAI operation duration."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err := errors.Join(err1, err2); err != nil {
		// The API returns usable no-op instruments with the error.
		otel.Handle(err)
	}
	return inst
}

// instrumentation is the telemetry of one provider, built once.
type instrumentation struct {
	providers      observability.Providers
	provider       string
	captureContent bool
	server         []attribute.KeyValue
	meters         *meterCache
}

func newInstrumentation(p observability.Providers, provider, baseURL string, capture bool) instrumentation {
	return instrumentation{providers: p, provider: provider, captureContent: capture, server: serverAttrs(baseURL),
		meters: &meterCache{}}
}

func serverAttrs(baseURL string) []attribute.KeyValue {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return nil
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		port = 443
		if u.Scheme == "http" {
			port = 80
		}
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	return []attribute.KeyValue{
		attribute.String(observability.AttrServerAddress, host),
		attribute.Int(observability.AttrServerPort, port),
	}
}

// call is the telemetry of one call in progress.
type call struct {
	inst  *instrumentation
	span  trace.Span
	start time.Time
	model string
}

// begin starts the span "chat <model>" as a child of the span in ctx. The
// span is nil when no tracer provider records.
func (in *instrumentation) begin(ctx context.Context, model string, req *Request, maxTokens int) (context.Context, call) {
	c := call{inst: in, start: time.Now(), model: model}
	tracer, ok := in.providers.Tracer()
	if !ok {
		return ctx, c
	}
	attrs := make([]attribute.KeyValue, 0, 10)
	attrs = append(attrs,
		attribute.String(observability.AttrGenAIOperationName, observability.GenAIOperationChat),
		attribute.String(observability.AttrGenAIProviderName, in.provider),
		attribute.String(observability.AttrGenAIRequestModel, model))
	attrs = append(attrs, in.server...)
	if maxTokens > 0 {
		attrs = append(attrs, attribute.Int(observability.AttrGenAIRequestMaxTokens, maxTokens))
	}
	if req.Temperature != nil {
		attrs = append(attrs, attribute.Float64(observability.AttrGenAIRequestTemperature, *req.Temperature))
	}
	if req.ResponseFormat != nil {
		attrs = append(attrs, attribute.String(observability.AttrGenAIOutputType, "json"))
	}
	if c := observability.CorrelatedFrom(ctx); c != nil {
		attrs = append(attrs, attribute.String(observability.AttrCorrelationID, c.CorrelationID()))
		if w := c.WorkflowID(); w != "" {
			attrs = append(attrs, attribute.String(observability.AttrWorkflowID, w))
		}
	}
	ctx, c.span = tracer.Start(ctx, observability.GenAISpanName(observability.GenAIOperationChat, model),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	if in.captureContent && c.span.IsRecording() {
		c.span.SetAttributes(inputContent(req)...)
	}
	return ctx, c
}

// end records the result of the call on its span and in the metrics.
// inputTokens is the whole prompt, cached tokens included. A refusal is
// a failed call that was answered: its reply's model, finish reason and
// tokens (billed) are recorded with the error.
func (c *call) end(ctx context.Context, resp *Response, respID string, inputTokens int64, err error) {
	elapsed := time.Since(c.start)
	var refusal *RefusalError
	if errors.As(err, &refusal) {
		resp = &refusal.Response
		inputTokens = resp.Usage.InputTokens
	}
	answered := err == nil || refusal != nil
	responseModel := ""
	if answered {
		responseModel = resp.Model
	}
	errType := ""
	if err != nil {
		errType = errorType(err)
	}
	metricAttrs := []attribute.KeyValue{
		attribute.String(observability.AttrGenAIOperationName, observability.GenAIOperationChat),
		attribute.String(observability.AttrGenAIProviderName, c.inst.provider),
		attribute.String(observability.AttrGenAIRequestModel, c.model),
	}
	if responseModel != "" {
		metricAttrs = append(metricAttrs, attribute.String(observability.AttrGenAIResponseModel, responseModel))
	}
	metricAttrs = append(metricAttrs, c.inst.server...)
	c.log(ctx, elapsed, resp, inputTokens, errType, err)
	inst := c.inst.meters.instruments(c.inst.providers.Meter())
	if answered {
		in := append(metricAttrs[:len(metricAttrs):len(metricAttrs)], attribute.String(observability.AttrGenAITokenType, "input"))
		out := append(metricAttrs[:len(metricAttrs):len(metricAttrs)], attribute.String(observability.AttrGenAITokenType, "output"))
		inst.tokens.Record(ctx, inputTokens, metric.WithAttributes(in...))
		inst.tokens.Record(ctx, resp.Usage.OutputTokens, metric.WithAttributes(out...))
	}
	if err == nil {
		inst.duration.Record(ctx, elapsed.Seconds(), metric.WithAttributes(metricAttrs...))
	} else {
		inst.duration.Record(ctx, elapsed.Seconds(), metric.WithAttributes(
			append(metricAttrs, attribute.String(observability.AttrErrorType, errType))...))
	}
	if c.span == nil {
		return
	}
	if answered {
		attrs := []attribute.KeyValue{
			attribute.String(observability.AttrGenAIResponseModel, resp.Model),
			attribute.StringSlice(observability.AttrGenAIResponseFinishReasons, []string{resp.StopReason}),
			attribute.Int64(observability.AttrGenAIUsageInputTokens, inputTokens),
			attribute.Int64(observability.AttrGenAIUsageOutputTokens, resp.Usage.OutputTokens),
		}
		if respID != "" {
			attrs = append(attrs, attribute.String(observability.AttrGenAIResponseID, respID))
		}
		if resp.Usage.CacheReadInputTokens > 0 {
			attrs = append(attrs, attribute.Int64(observability.AttrGenAIUsageCacheReadInputTokens, resp.Usage.CacheReadInputTokens))
		}
		if resp.Usage.CacheCreationInputTokens > 0 {
			attrs = append(attrs, attribute.Int64(observability.AttrGenAIUsageCacheCreationInputTokens, resp.Usage.CacheCreationInputTokens))
		}
		if c.inst.captureContent {
			attrs = append(attrs, outputContent(resp))
		}
		c.span.SetAttributes(attrs...)
	}
	if err != nil {
		c.span.SetAttributes(attribute.String(observability.AttrErrorType, errType))
		c.span.RecordError(err)
		c.span.SetStatus(codes.Error, err.Error())
	} else {
		c.span.SetStatus(codes.Ok, "")
	}
	c.span.End()
}

// log writes one debug record per call: provider, models, tokens,
// duration and, on failure, error.type and the error (which never holds
// the key). It costs one Enabled check when debug records are off.
func (c *call) log(ctx context.Context, elapsed time.Duration, resp *Response, inputTokens int64, errType string, err error) {
	l := c.inst.providers.Log()
	if !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String(observability.AttrGenAIProviderName, c.inst.provider),
		slog.String(observability.AttrGenAIRequestModel, c.model),
		slog.Float64(observability.AttrExecutionTimeMS, float64(elapsed.Microseconds())/1000),
		slog.Bool(observability.AttrSuccess, err == nil),
	}
	if err == nil {
		attrs = append(attrs,
			slog.String(observability.AttrGenAIResponseModel, resp.Model),
			slog.Int64(observability.AttrGenAIUsageInputTokens, inputTokens),
			slog.Int64(observability.AttrGenAIUsageOutputTokens, resp.Usage.OutputTokens))
	} else {
		attrs = append(attrs, slog.String(observability.AttrErrorType, errType), slog.String("error", err.Error()))
	}
	observability.Log(ctx, l, slog.LevelDebug, "llm call", attrs...)
}

// errorType is the error.type of a failed call: the HTTP status, the
// stream error's type, or a class of this package.
func errorType(err error) string {
	var api *APIError
	var temp *TemperatureRejectedError
	var conn *ConnectionError
	var resp *ResponseError
	var refusal *RefusalError
	switch {
	case errors.As(err, &api):
		if api.InStream && api.Type != "" {
			return api.Type
		}
		return strconv.Itoa(api.Status)
	case errors.As(err, &temp):
		return "temperature_unsupported"
	case errors.As(err, &conn):
		return "connection"
	case errors.As(err, &resp):
		return "unexpected_response"
	case errors.As(err, &refusal):
		if refusal.Stop == "" {
			return string(StopRefusal)
		}
		return string(refusal.Stop)
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "_OTHER"
}

// execute is the Execute of every provider: it fills the request's model and
// token limit from the provider's configuration, runs the call inside the
// call's span and metrics, and returns a zero Response with an error.
func execute(ctx context.Context, cfg *config, tel *instrumentation, req Request,
	run func(ctx context.Context, model string, maxTokens int, req *Request) (Response, string, error)) (Response, error) {
	model := req.Model
	if model == "" {
		model = cfg.model
	}
	maxTokens := req.MaxTokens
	if maxTokens == 0 {
		maxTokens = cfg.maxTokens
	}
	ctx, c := tel.begin(ctx, model, &req, maxTokens)
	resp, id, err := run(ctx, model, maxTokens, &req)
	c.end(ctx, &resp, id, resp.Usage.InputTokens, err)
	if err != nil {
		return Response{}, err
	}
	return resp, nil
}
