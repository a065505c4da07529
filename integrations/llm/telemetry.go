package llm

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
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

var instrumentCache sync.Map // metric.Meter -> *genAIInstruments

func instrumentsFor(m metric.Meter) *genAIInstruments {
	cacheable := reflect.TypeOf(m).Comparable()
	if cacheable {
		if v, ok := instrumentCache.Load(m); ok {
			return v.(*genAIInstruments)
		}
	}
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
	if !cacheable {
		return &inst
	}
	v, _ := instrumentCache.LoadOrStore(m, &inst)
	return v.(*genAIInstruments)
}

// instrumentation is the telemetry of one provider, built once.
type instrumentation struct {
	providers      observability.Providers
	provider       string
	captureContent bool
	server         []attribute.KeyValue
}

func newInstrumentation(p observability.Providers, provider, baseURL string, capture bool) instrumentation {
	return instrumentation{providers: p, provider: provider, captureContent: capture, server: serverAttrs(baseURL)}
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
// inputTokens is the whole prompt, cached tokens included.
func (c *call) end(ctx context.Context, resp *Response, respID string, inputTokens int64, err error) {
	elapsed := time.Since(c.start)
	responseModel := ""
	if err == nil {
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
	inst := instrumentsFor(c.inst.providers.Meter())
	if err == nil {
		in := append(metricAttrs[:len(metricAttrs):len(metricAttrs)], attribute.String(observability.AttrGenAITokenType, "input"))
		out := append(metricAttrs[:len(metricAttrs):len(metricAttrs)], attribute.String(observability.AttrGenAITokenType, "output"))
		inst.tokens.Record(ctx, inputTokens, metric.WithAttributes(in...))
		inst.tokens.Record(ctx, resp.Usage.OutputTokens, metric.WithAttributes(out...))
		inst.duration.Record(ctx, elapsed.Seconds(), metric.WithAttributes(metricAttrs...))
	} else {
		inst.duration.Record(ctx, elapsed.Seconds(), metric.WithAttributes(
			append(metricAttrs, attribute.String(observability.AttrErrorType, errType))...))
	}
	if c.span == nil {
		return
	}
	if err != nil {
		var refusal *RefusalError
		if errors.As(err, &refusal) && refusal.Response.StopReason != "" {
			// A refused reply did finish, for a reason worth seeing.
			c.span.SetAttributes(attribute.StringSlice(observability.AttrGenAIResponseFinishReasons, []string{refusal.Response.StopReason}))
		}
		c.span.SetAttributes(attribute.String(observability.AttrErrorType, errType))
		c.span.RecordError(err)
		c.span.SetStatus(codes.Error, err.Error())
		c.span.End()
		return
	}
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
	c.span.SetStatus(codes.Ok, "")
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
	case errors.As(err, &refusal):
		return string(refusal.Stop)
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
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "_OTHER"
}

// The parts of a captured message, in the shapes of the GenAI
// conventions (gen_ai.input.messages, gen_ai.output.messages).
type (
	textPart struct {
		Type    string `json:"type"` // "text"
		Content string `json:"content"`
	}
	toolCallPart struct {
		Type      string          `json:"type"` // "tool_call"
		ID        string          `json:"id"`
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	toolResponsePart struct {
		Type     string `json:"type"` // "tool_call_response"
		ID       string `json:"id"`
		Response any    `json:"response"`
	}
	blobPart struct {
		Type     string `json:"type"` // "blob"
		Modality string `json:"modality"`
		MIMEType string `json:"mime_type,omitempty"`
		Content  []byte `json:"content"` // base64 in JSON
	}
	uriPart struct {
		Type     string `json:"type"` // "uri"
		Modality string `json:"modality"`
		URI      string `json:"uri"`
	}
)

type chatMessage struct {
	Role         string `json:"role"`
	Parts        []any  `json:"parts"`
	FinishReason string `json:"finish_reason,omitempty"`
}

// capturedArguments returns a call's arguments as a JSON value: the
// arguments themselves when they are valid JSON, else as a string.
func capturedArguments(args json.RawMessage) json.RawMessage {
	if len(args) == 0 {
		return json.RawMessage("{}")
	}
	if json.Valid(args) {
		return args
	}
	b, _ := json.Marshal(string(args))
	return b
}

// capturedPart returns the part of a Text, Image or ToolCall block, and
// nil for any other.
func capturedPart(b Block) any {
	switch b := b.(type) {
	case Text:
		return textPart{Type: "text", Content: b.Text}
	case Image:
		if len(b.Data) > 0 {
			return blobPart{Type: "blob", Modality: "image", MIMEType: b.MediaType, Content: b.Data}
		}
		return uriPart{Type: "uri", Modality: "image", URI: b.URL}
	case ToolCall:
		return toolCallPart{Type: "tool_call", ID: b.ID, Name: b.Name, Arguments: capturedArguments(b.Arguments)}
	}
	return nil
}

// capturedMessages returns m as captured messages: its tool results, each
// a message of role "tool" with a tool_call_response part (the result's
// text, or its parts when it has images), then the message with its other
// blocks, if any.
func capturedMessages(dst []chatMessage, m *Message) []chatMessage {
	if len(m.Blocks) == 0 {
		return append(dst, chatMessage{Role: string(m.Role), Parts: []any{textPart{Type: "text", Content: m.Content}}})
	}
	var parts []any
	if m.Content != "" {
		parts = append(parts, textPart{Type: "text", Content: m.Content})
	}
	for _, b := range m.Blocks {
		r, ok := b.(ToolResult)
		if !ok {
			if p := capturedPart(b); p != nil {
				parts = append(parts, p)
			}
			continue
		}
		var text strings.Builder
		var rparts []any
		images := false
		for _, c := range r.Content {
			p := capturedPart(c)
			if p == nil {
				continue
			}
			rparts = append(rparts, p)
			if t, isText := p.(textPart); isText {
				if text.Len() > 0 {
					text.WriteByte('\n')
				}
				text.WriteString(t.Content)
			} else {
				images = true
			}
		}
		var response any = text.String()
		if images {
			response = rparts
		}
		dst = append(dst, chatMessage{Role: "tool", Parts: []any{toolResponsePart{Type: "tool_call_response", ID: r.CallID, Response: response}}})
	}
	if len(parts) > 0 {
		dst = append(dst, chatMessage{Role: string(m.Role), Parts: parts})
	}
	return dst
}

func inputContent(req *Request) []attribute.KeyValue {
	var attrs []attribute.KeyValue
	if req.System != "" {
		b, _ := json.Marshal([]textPart{{Type: "text", Content: req.System}})
		attrs = append(attrs, attribute.String(observability.AttrGenAISystemInstructions, string(b)))
	}
	msgs := make([]chatMessage, 0, len(req.Messages))
	for i := range req.Messages {
		msgs = capturedMessages(msgs, &req.Messages[i])
	}
	b, _ := json.Marshal(msgs)
	return append(attrs, attribute.String(observability.AttrGenAIInputMessages, string(b)))
}

// capturedFinishReason is the finish_reason of an output message: the
// conventions' word for the common stop reasons, the service's own for
// the others.
func capturedFinishReason(resp *Response) string {
	switch resp.Stop {
	case StopEndTurn, StopSequence:
		return "stop"
	case StopMaxTokens:
		return "length"
	case StopToolUse:
		return "tool_call"
	case StopContentFilter, StopRefusal:
		return "content_filter"
	}
	return resp.StopReason
}

func outputContent(resp *Response) attribute.KeyValue {
	var parts []any
	for _, b := range resp.Content {
		if p := capturedPart(b); p != nil {
			parts = append(parts, p)
		}
	}
	if len(resp.Content) == 0 {
		parts = []any{textPart{Type: "text", Content: resp.Text}}
	}
	b, _ := json.Marshal([]chatMessage{{Role: string(RoleAssistant), Parts: parts, FinishReason: capturedFinishReason(resp)}})
	return attribute.String(observability.AttrGenAIOutputMessages, string(b))
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
