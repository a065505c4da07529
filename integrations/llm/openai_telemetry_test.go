package llm

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/codes"
)

// capturedMessage is a message of gen_ai.input.messages or
// gen_ai.output.messages.
type capturedMessage struct {
	Role         string           `json:"role"`
	Parts        []map[string]any `json:"parts"`
	FinishReason string           `json:"finish_reason"`
}

func capturedOf(t *testing.T, attr string) []capturedMessage {
	t.Helper()
	var msgs []capturedMessage
	if err := json.Unmarshal([]byte(attr), &msgs); err != nil {
		t.Fatalf("captured messages %q: %v", attr, err)
	}
	return msgs
}

// findPart returns the first part of type typ with the given id (any id
// when id is empty) and the role of its message.
func findPart(msgs []capturedMessage, typ, id string) (map[string]any, string) {
	for _, m := range msgs {
		for _, p := range m.Parts {
			if p["type"] == typ && (id == "" || p["id"] == id) {
				return p, m.Role
			}
		}
	}
	return nil, ""
}

// With content capture, tool calls and results are in the captured
// messages as the GenAI conventions shape them: tool_call parts in the
// assistant's message, tool_call_response parts for the results.
func TestOpenAIToolCallsTelemetry(t *testing.T) {
	sink := newSink(t)
	srv := newFakeServer(t, reply{body: openAIToolCallsBody})
	p := newTestOpenAI(t, srv.URL, sink.option(), WithContentCapture())
	req := Request{
		Tools: []Tool{openAIWeatherTool},
		Messages: []Message{
			{Role: RoleUser, Content: "Weather in Lyon?", Blocks: []Block{Image{URL: "https://example.com/lyon.jpg"}}},
			{Role: RoleAssistant, Blocks: []Block{ToolCall{ID: "call_1", Name: "get_weather", Arguments: json.RawMessage(`{"location":"Lyon"}`)}}},
			{Role: RoleUser, Content: "And Paris and Bogotá?", Blocks: []Block{
				ToolResult{CallID: "call_1", Content: []Block{Text{Text: "14°C, rain"}}},
			}},
		},
	}
	if _, err := p.Execute(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	spans := sink.spans.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	a := attrMap(spans[0].Attributes())
	in := capturedOf(t, a["gen_ai.input.messages"].AsString())
	if img, role := findPart(in, "uri", ""); role != "user" || img["uri"] != "https://example.com/lyon.jpg" || img["modality"] != "image" {
		t.Errorf("image part = %v in a %q message", img, role)
	}
	call, role := findPart(in, "tool_call", "call_1")
	if role != "assistant" || call["name"] != "get_weather" || !jsonEqual(t, call["arguments"], `{"location":"Lyon"}`) {
		t.Errorf("tool_call part = %v in a %q message", call, role)
	}
	if res, role := findPart(in, "tool_call_response", "call_1"); (role != "tool" && role != "user") || res["response"] != "14°C, rain" {
		t.Errorf("tool_call_response part = %v in a %q message", res, role)
	}
	if text, _ := findPart(in[len(in)-1:], "text", ""); text["content"] != "And Paris and Bogotá?" {
		t.Errorf("last input message = %+v", in[len(in)-1])
	}

	out := capturedOf(t, a["gen_ai.output.messages"].AsString())
	if len(out) != 1 || out[0].Role != "assistant" || out[0].FinishReason != "tool_call" || len(out[0].Parts) != 2 {
		t.Fatalf("output.messages = %+v", out)
	}
	for i, id := range []string{"call_Qz9Oi1gc4PAnJA4Ts6SPJ40l", "call_Xu7hpkwaVymn6PuX4wqqZaXs"} {
		if p := out[0].Parts[i]; p["type"] != "tool_call" || p["id"] != id || p["name"] != "get_weather" {
			t.Errorf("output part %d = %v", i, p)
		}
	}
	if !jsonEqual(t, out[0].Parts[1]["arguments"], `{"location":"Bogotá, Colombia"}`) {
		t.Errorf("arguments = %v", out[0].Parts[1]["arguments"])
	}
	if fr := a["gen_ai.response.finish_reasons"].AsStringSlice(); len(fr) != 1 || fr[0] != "tool_calls" {
		t.Errorf("finish_reasons = %v", fr)
	}
	if got := a["gen_ai.response.id"].AsString(); got != "chatcmpl-BLBm5KVwC4zkH9YbFyzX2QPdJsPnm" {
		t.Errorf("response.id = %q", got)
	}
}

// A result with images is captured with its parts; an inline image is a
// blob part with its bytes in base64.
func TestOpenAIToolResultImagesTelemetry(t *testing.T) {
	sink := newSink(t)
	srv := newFakeServer(t, reply{body: openAICompletionBody})
	p := newTestOpenAI(t, srv.URL, sink.option(), WithContentCapture())
	req := Request{Messages: []Message{
		{Role: RoleUser, Content: "plot"},
		{Role: RoleAssistant, Blocks: []Block{ToolCall{ID: "c", Name: "plot"}}},
		{Role: RoleUser, Blocks: []Block{ToolResult{CallID: "c", Content: []Block{Text{Text: "done"}, Image{MediaType: "image/png", Data: []byte("PNG")}}}}},
	}}
	if _, err := p.Execute(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	in := capturedOf(t, attrMap(sink.spans.Ended()[0].Attributes())["gen_ai.input.messages"].AsString())
	if call, _ := findPart(in, "tool_call", "c"); call == nil || !jsonEqual(t, call["arguments"], `{}`) {
		t.Errorf("tool_call part = %v", call)
	}
	res, _ := findPart(in, "tool_call_response", "c")
	if res == nil || !jsonEqual(t, res["response"], `[{"type":"text","content":"done"},{"type":"blob","modality":"image","mime_type":"image/png","content":"UE5H"}]`) {
		t.Errorf("tool_call_response part = %v", res)
	}
}

// A refusal is an error on the span, of type "refusal", and the span
// still says how the reply finished.
func TestOpenAIRefusalTelemetry(t *testing.T) {
	sink := newSink(t)
	srv := newFakeServer(t, reply{body: openAIRefusalBody}, reply{body: openAIContentFilterBody})
	p := newTestOpenAI(t, srv.URL, sink.option())
	for _, want := range []struct{ errType, finish string }{{"refusal", "stop"}, {"content_filter", "content_filter"}} {
		_, err := p.Execute(context.Background(), userRequest("x"))
		if !errors.Is(err, ErrRefused) {
			t.Fatalf("err = %v", err)
		}
		spans := sink.spans.Ended()
		s := spans[len(spans)-1]
		a := attrMap(s.Attributes())
		if s.Status().Code != codes.Error || a["error.type"].AsString() != want.errType {
			t.Errorf("status %v, error.type %q, want %q", s.Status().Code, a["error.type"].AsString(), want.errType)
		}
		if fr := a["gen_ai.response.finish_reasons"].AsStringSlice(); len(fr) != 1 || fr[0] != want.finish {
			t.Errorf("finish_reasons = %v, want [%s]", fr, want.finish)
		}
	}
	dur := sink.histograms(t)["gen_ai.client.operation.duration"]
	types := map[string]bool{}
	for _, d := range dur {
		if v, ok := d.Attributes.Value("error.type"); ok {
			types[v.AsString()] = true
		}
	}
	if !types["refusal"] || !types["content_filter"] {
		t.Errorf("error.type of the duration metric: %v", types)
	}
}
