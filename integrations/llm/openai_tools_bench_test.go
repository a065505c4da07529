package llm

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
)

// BenchmarkOpenAIToolTurn measures what the provider adds around the HTTP
// exchange of a turn with two tool calls: translating the Request (two
// tools, an assistant message with two calls, a user message with their
// two results) into the SDK's parameters and their JSON body, and decoding
// a reply with two tool calls into a Response ("turn" is both;
// "translate" is the request without the SDK's JSON encoding). Run it with
//
//	go test -run '^$' -bench OpenAIToolTurn -benchmem ./integrations/llm/
func BenchmarkOpenAIToolTurn(b *testing.B) {
	req := Request{
		System: "You answer questions about the weather.",
		Tools:  []Tool{openAIWeatherTool, {Name: "now", Description: "The current time."}},
		Messages: []Message{
			{Role: RoleUser, Content: "Weather in Paris and Bogotá?"},
			{Role: RoleAssistant, Blocks: []Block{
				ToolCall{ID: "call_Qz9Oi1gc4PAnJA4Ts6SPJ40l", Name: "get_weather", Arguments: json.RawMessage(`{"location":"Paris, France"}`)},
				ToolCall{ID: "call_Xu7hpkwaVymn6PuX4wqqZaXs", Name: "get_weather", Arguments: json.RawMessage(`{"location":"Bogotá, Colombia"}`)},
			}},
			{Role: RoleUser, Blocks: []Block{
				ToolResult{CallID: "call_Qz9Oi1gc4PAnJA4Ts6SPJ40l", Content: []Block{Text{Text: "14°C, light rain"}}},
				ToolResult{CallID: "call_Xu7hpkwaVymn6PuX4wqqZaXs", Content: []Block{Text{Text: "19°C, cloudy"}}},
			}},
		},
	}
	body := []byte(openAIToolCallsBody)
	build := func(b *testing.B) {
		params, err := openAIParams(&req, "gpt-4.1", 1024, false)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(params); err != nil {
			b.Fatal(err)
		}
	}
	decode := func(b *testing.B) {
		var cc openai.ChatCompletion
		if err := json.Unmarshal(body, &cc); err != nil {
			b.Fatal(err)
		}
		resp, _, err := openAIResponse(&cc)
		if err != nil || len(resp.ToolCalls) != 2 {
			b.Fatalf("%d calls, %v", len(resp.ToolCalls), err)
		}
	}
	b.Run("translate", func(b *testing.B) {
		// The provider's own part of "request": the SDK's JSON encoding
		// of the parameters is most of the rest.
		b.ReportAllocs()
		for b.Loop() {
			if _, err := openAIParams(&req, "gpt-4.1", 1024, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			build(b)
		}
	})
	b.Run("response", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			decode(b)
		}
	})
	b.Run("turn", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			build(b)
			decode(b)
		}
	})
}

// BenchmarkOpenAIStreamedToolCalls measures the assembly of a streamed
// reply of text and two tool calls whose arguments come in pieces, from
// decoded chunks to the Response (the SDK's decoding of each chunk is
// included, its HTTP reading is not).
func BenchmarkOpenAIStreamedToolCalls(b *testing.B) {
	raw := splitEvents(weatherStream())
	b.ReportAllocs()
	for b.Loop() {
		st := openAIStreamState{onCall: func(ToolCall) {}}
		for _, ev := range raw {
			var c openai.ChatCompletionChunk
			if err := json.Unmarshal([]byte(ev), &c); err != nil {
				b.Fatal(err)
			}
			if err := st.add(c); err != nil {
				b.Fatal(err)
			}
		}
		if resp, _, err := st.end(); err != nil || len(resp.ToolCalls) != 2 {
			b.Fatalf("%+v, %v", resp, err)
		}
	}
}

// splitEvents returns the data of the events of an SSE body, without the
// final [DONE].
func splitEvents(body string) []string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok && data != "[DONE]" {
			out = append(out, data)
		}
	}
	return out
}
