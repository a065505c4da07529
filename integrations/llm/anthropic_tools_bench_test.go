package llm

import (
	"encoding/json"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
)

// BenchmarkAnthropicToolTurn times what the provider does around the
// HTTP exchange of a tool turn: a request holding a round of two tool
// calls, their results (one with an image) and two declared tools, and a
// reply with text and two tool calls. "request" is checking the request,
// building the SDK's parameters and encoding them as the SDK does;
// "response" is decoding the reply's JSON into the SDK's message and
// turning it into a Response; "translate" is this package's part alone
// (checking, building, turning), without the JSON work. Run it with
//
//	go test -run '^$' -bench AnthropicToolTurn -benchmem ./integrations/llm/
func BenchmarkAnthropicToolTurn(b *testing.B) {
	req := toolHistory()
	body := []byte(anthropicToolUseBody)
	var decoded anthropic.Message
	if err := json.Unmarshal(body, &decoded); err != nil {
		b.Fatal(err)
	}
	if r := anthropicResponse(&decoded); len(r.ToolCalls) != 2 {
		b.Fatalf("reply has %d tool calls", len(r.ToolCalls))
	}
	b.Run("request", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if err := validateContent(&req); err != nil {
				b.Fatal(err)
			}
			params, err := anthropicParams(&req, "claude-sonnet-4-5", DefaultMaxTokens)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(params); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("response", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var msg anthropic.Message
			if err := json.Unmarshal(body, &msg); err != nil {
				b.Fatal(err)
			}
			if r := anthropicResponse(&msg); len(r.ToolCalls) != 2 {
				b.Fatal("tool calls lost")
			}
		}
	})
	b.Run("translate", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if err := validateContent(&req); err != nil {
				b.Fatal(err)
			}
			if _, err := anthropicParams(&req, "claude-sonnet-4-5", DefaultMaxTokens); err != nil {
				b.Fatal(err)
			}
			if r := anthropicResponse(&decoded); len(r.ToolCalls) != 2 {
				b.Fatal("tool calls lost")
			}
		}
	})
}
