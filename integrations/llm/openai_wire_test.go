package llm

import (
	"encoding/json"
	"strconv"
	"testing"
)

// Chat Completions bodies and stream chunks for the tool, image,
// structured-output and refusal tests, in the shapes OpenAI sends.

const (
	openAIToolCallsBody = `{"id":"chatcmpl-BLBm5KVwC4zkH9YbFyzX2QPdJsPnm","object":"chat.completion","created":1744355653,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_Qz9Oi1gc4PAnJA4Ts6SPJ40l","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris, France\"}"}},{"id":"call_Xu7hpkwaVymn6PuX4wqqZaXs","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Bogotá, Colombia\"}"}}],"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":80,"completion_tokens":54,"total_tokens":134,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_b38e740b47"}`

	openAITextAndToolCallBody = `{"id":"chatcmpl-BLBn0aTextTool","object":"chat.completion","created":1744355700,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"message":{"role":"assistant","content":"Let me run that.","tool_calls":[{"id":"call_8Hn2mPq4rS6tU8vW0xY2zA4b","type":"function","function":{"name":"run_python","arguments":"{\"code\":\"print(1+1)\"}"}}],"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,"prompt_tokens_details":{"cached_tokens":64,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_b38e740b47"}`

	openAIRefusalBody = `{"id":"chatcmpl-9nYAG9LPNonX8DAyrkwYfemr3C8HC","object":"chat.completion","created":1721596428,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I'm sorry, I cannot assist with that request.","annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":81,"completion_tokens":11,"total_tokens":92,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_3407719c7f"}`

	openAIContentFilterBody = `{"id":"chatcmpl-BLBp9Filtered","object":"chat.completion","created":1744355800,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"message":{"role":"assistant","content":"Here is the first part of","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"content_filter"}],"usage":{"prompt_tokens":40,"completion_tokens":7,"total_tokens":47,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_b38e740b47"}`

	openAIStructuredBody = `{"id":"chatcmpl-AJ8sZ9Structured","object":"chat.completion","created":1729081722,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"{\"name\":\"Science Fair\",\"date\":\"Friday\",\"participants\":[\"Alice\",\"Bob\"]}","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":92,"completion_tokens":17,"total_tokens":109,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_6b68a8204b"}`
)

// openAIChunk is one event of a streamed completion: a chunk whose only
// choice has delta (a JSON object) and finish (null or a quoted reason).
func openAIChunk(delta, finish string) string {
	return `data: {"id":"chatcmpl-BLBtStream7xQ","object":"chat.completion.chunk","created":1744355900,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b38e740b47","choices":[{"index":0,"delta":` +
		delta + `,"logprobs":null,"finish_reason":` + finish + `}],"usage":null,"obfuscation":"k2Xb"}` + "\n\n"
}

// openAIStreamEnd is the usage chunk and the end of a stream.
const openAIStreamEnd = `data: {"id":"chatcmpl-BLBtStream7xQ","object":"chat.completion.chunk","created":1744355900,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b38e740b47","choices":[],"usage":{"prompt_tokens":85,"completion_tokens":48,"total_tokens":133,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"obfuscation":"Qm"}` + "\n\n" +
	"data: [DONE]\n\n"

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// openAICallStart is the delta that starts tool call index (OpenAI sends
// the role, a null content and refusal with the first one only; first
// says whether this is it).
func openAICallStart(first bool, index int, id, name string) string {
	call := `{"index":` + strconv.Itoa(index) + `,"id":"` + id + `","type":"function","function":{"name":"` + name + `","arguments":""}}`
	if first {
		return `{"role":"assistant","content":null,"tool_calls":[` + call + `],"refusal":null}`
	}
	return `{"tool_calls":[` + call + `]}`
}

// openAICallArgs is a delta with more arguments of tool call index.
func openAICallArgs(index int, args string) string {
	return `{"tool_calls":[{"index":` + strconv.Itoa(index) + `,"function":{"arguments":` + jsonString(args) + `}}]}`
}

// messagesOf returns the messages of a recorded request body.
func messagesOf(t *testing.T, r recorded) []map[string]any {
	t.Helper()
	raw, _ := r.body["messages"].([]any)
	out := make([]map[string]any, len(raw))
	for i, m := range raw {
		mm, ok := m.(map[string]any)
		if !ok {
			t.Fatalf("message %d is %T: %s", i, m, r.raw)
		}
		out[i] = mm
	}
	return out
}

// jsonEqual reports whether a (decoded) and b (JSON text) are the same
// JSON value.
func jsonEqual(t *testing.T, a any, b string) bool {
	t.Helper()
	var bv any
	if err := json.Unmarshal([]byte(b), &bv); err != nil {
		t.Fatalf("bad JSON in test: %v", err)
	}
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(bv)
	return string(ab) == string(bb)
}
