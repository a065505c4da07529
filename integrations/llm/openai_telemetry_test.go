package llm

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/codes"
)

// With content capture, tool calls and results are in the captured
// messages as the GenAI conventions shape them: tool_call parts in the
// assistant's message, each result a message of role "tool" with a
// tool_call_response part.
func TestOpenAIToolCallsTelemetry(t *testing.T) {
	sink := newSink(t)
	srv := newFakeServer(t, reply{body: openAIToolCallsBody})
	p := newTestOpenAI(t, srv.URL, sink.option(), WithContentCapture())
	req := Request{
		Tools: []Tool{weatherTool},
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
	wantIn := `[{"role":"user","parts":[{"type":"text","content":"Weather in Lyon?"},{"type":"uri","modality":"image","uri":"https://example.com/lyon.jpg"}]},` +
		`{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather","arguments":{"location":"Lyon"}}]},` +
		`{"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"14°C, rain"}]},` +
		`{"role":"user","parts":[{"type":"text","content":"And Paris and Bogotá?"}]}]`
	if got := a["gen_ai.input.messages"].AsString(); got != wantIn {
		t.Errorf("input.messages = %s\nwant             %s", got, wantIn)
	}
	wantOut := `[{"role":"assistant","parts":[` +
		`{"type":"tool_call","id":"call_Qz9Oi1gc4PAnJA4Ts6SPJ40l","name":"get_weather","arguments":{"location":"Paris, France"}},` +
		`{"type":"tool_call","id":"call_Xu7hpkwaVymn6PuX4wqqZaXs","name":"get_weather","arguments":{"location":"Bogotá, Colombia"}}],` +
		`"finish_reason":"tool_call"}]`
	if got := a["gen_ai.output.messages"].AsString(); got != wantOut {
		t.Errorf("output.messages = %s\nwant              %s", got, wantOut)
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
	a := attrMap(sink.spans.Ended()[0].Attributes())
	want := `[{"role":"user","parts":[{"type":"text","content":"plot"}]},` +
		`{"role":"assistant","parts":[{"type":"tool_call","id":"c","name":"plot","arguments":{}}]},` +
		`{"role":"tool","parts":[{"type":"tool_call_response","id":"c","response":[{"type":"text","content":"done"},{"type":"blob","modality":"image","mime_type":"image/png","content":"UE5H"}]}]}]`
	if got := a["gen_ai.input.messages"].AsString(); got != want {
		t.Errorf("input.messages = %s\nwant             %s", got, want)
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
