package llm

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
)

// toolHistory is a conversation that has been through one round of tool
// calls: the calls, one failed result with an image, one plain result.
func toolHistory() Request {
	req := toolRequest("Weather and time in San Francisco?")
	req.Messages = append(req.Messages,
		Message{Role: RoleAssistant, Blocks: []Block{
			Text{Text: "Looking up."},
			ToolCall{ID: "toolu_01A", Name: "get_weather", Arguments: json.RawMessage(`{"location":"San Francisco, CA"}`)},
			ToolCall{ID: "toolu_01B", Name: "get_time", Arguments: json.RawMessage(`{}`)},
		}},
		Message{Role: RoleUser, Blocks: []Block{
			ToolResult{CallID: "toolu_01A", IsError: true, Content: []Block{Text{Text: "service down"}, Image{MediaType: "image/png", Data: []byte("PNG")}}},
			ToolResult{CallID: "toolu_01B", Content: []Block{Text{Text: "14:05"}}},
			Image{URL: "https://example.com/map.png"},
		}},
	)
	return req
}

func TestTelemetryToolCallsCaptured(t *testing.T) {
	sink := newSink(t)
	srv := newFakeServer(t, reply{body: anthropicToolUseBody})
	p := newTestAnthropic(t, srv.URL, sink.option(), WithContentCapture())
	if _, err := p.Execute(context.Background(), toolHistory()); err != nil {
		t.Fatal(err)
	}
	a := attrMap(sink.spans.Ended()[0].Attributes())
	sameJSON(t, "gen_ai.input.messages", jsonOf(t, a["gen_ai.input.messages"].AsString()), `[
		{"role":"user","parts":[{"type":"text","content":"Weather and time in San Francisco?"}]},
		{"role":"assistant","parts":[
			{"type":"text","content":"Looking up."},
			{"type":"tool_call","id":"toolu_01A","name":"get_weather","arguments":{"location":"San Francisco, CA"}},
			{"type":"tool_call","id":"toolu_01B","name":"get_time","arguments":{}}]},
		{"role":"user","parts":[
			{"type":"tool_call_response","id":"toolu_01A","response":[
				{"type":"text","content":"service down"},
				{"type":"blob","modality":"image","mime_type":"image/png","content":"UE5H"}]},
			{"type":"tool_call_response","id":"toolu_01B","response":"14:05"},
			{"type":"uri","modality":"image","uri":"https://example.com/map.png"}]}]`)
	sameJSON(t, "gen_ai.output.messages", jsonOf(t, a["gen_ai.output.messages"].AsString()), `[
		{"role":"assistant","parts":[
			{"type":"text","content":"I'll look up both cities."},
			{"type":"tool_call","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","arguments":{"location":"San Francisco, CA","unit":"celsius"}},
			{"type":"tool_call","id":"toolu_01BoE2Wq6JB8v3tJv9bZ4Xn1","name":"get_time","arguments":{"timezone":"America/Los_Angeles"}}],
		 "finish_reason":"tool_call"}]`)
	sameJSON(t, "gen_ai.tool.definitions", jsonOf(t, a["gen_ai.tool.definitions"].AsString()), `[
		{"type":"function","name":"get_weather","description":"Get the current weather in a given location","parameters":`+string(weatherTool.InputSchema)+`},
		{"type":"function","name":"get_time"}]`)
	if fr := a["gen_ai.response.finish_reasons"].AsStringSlice(); len(fr) != 1 || fr[0] != "tool_use" {
		t.Errorf("finish_reasons = %v, want the service's [tool_use]", fr)
	}
}

func TestTelemetryToolsNotCapturedByDefault(t *testing.T) {
	sink := newSink(t)
	srv := newFakeServer(t, reply{body: anthropicJSONBody})
	p := newTestAnthropic(t, srv.URL, sink.option())
	req := toolHistory()
	req.ResponseFormat = &JSONSchemaFormat{Schema: json.RawMessage(`{"type":"object"}`)}
	if _, err := p.Execute(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	a := attrMap(sink.spans.Ended()[0].Attributes())
	if got := a["gen_ai.output.type"].AsString(); got != "json" {
		t.Errorf("gen_ai.output.type = %q, want json for a structured-output request", got)
	}
	for _, k := range []string{"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.definitions"} {
		if _, ok := a[k]; ok {
			t.Errorf("%s recorded without opting in", k)
		}
	}
	for _, kv := range sink.spans.Ended()[0].Attributes() {
		if v := kv.Value.Emit(); strings.Contains(v, "get_weather") || strings.Contains(v, "Ada") {
			t.Errorf("content on the span: %s = %s", kv.Key, v)
		}
	}
}

func TestTelemetryRefusal(t *testing.T) {
	sink := newSink(t)
	srv := newFakeServer(t, reply{body: anthropicRefusalBody})
	p := newTestAnthropic(t, srv.URL, sink.option(), WithContentCapture())
	if _, err := p.Execute(context.Background(), userRequest("Write ransomware.")); !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v", err)
	}
	s := sink.spans.Ended()[0]
	if s.Status().Code != codes.Error {
		t.Fatalf("status = %v, want Error", s.Status())
	}
	a := attrMap(s.Attributes())
	if et := a["error.type"].AsString(); et != "refusal" {
		t.Errorf("error.type = %q", et)
	}
	if fr := a["gen_ai.response.finish_reasons"].AsStringSlice(); len(fr) != 1 || fr[0] != "refusal" {
		t.Errorf("finish_reasons = %v", fr)
	}
	if a["gen_ai.usage.input_tokens"].AsInt64() != 31 || a["gen_ai.usage.output_tokens"].AsInt64() != 7 || a["gen_ai.response.model"].AsString() != "claude-sonnet-4-5-20250929" {
		t.Errorf("a refused call's usage or model missing: %v", a)
	}
	sameJSON(t, "gen_ai.output.messages", jsonOf(t, a["gen_ai.output.messages"].AsString()),
		`[{"role":"assistant","parts":[{"type":"text","content":"I can help with part of"}],"finish_reason":"refusal"}]`)
	// The tokens were billed: they count in the usage histogram.
	sums := map[string]float64{}
	for _, pt := range sink.histograms(t)["gen_ai.client.token.usage"] {
		tt, _ := pt.Attributes.Value("gen_ai.token.type")
		sums[tt.AsString()] += pt.Sum
	}
	if sums["input"] != 31 || sums["output"] != 7 {
		t.Errorf("token usage = %v", sums)
	}
	d := sink.histograms(t)["gen_ai.client.operation.duration"]
	if len(d) != 1 {
		t.Fatalf("duration points = %d", len(d))
	}
	if et, _ := d[0].Attributes.Value("error.type"); et.AsString() != "refusal" {
		t.Errorf("duration error.type = %q", et.AsString())
	}
}
