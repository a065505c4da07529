package llm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/recovery"
)

// Bodies and streams of tool-use turns, in the shapes the Messages API
// sends.
const (
	anthropicToolUseBody = `{"id":"msg_01Aq9w938a90dw8q","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",` +
		`"content":[{"type":"text","text":"I'll look up both cities."},` +
		`{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA","unit":"celsius"}},` +
		`{"type":"tool_use","id":"toolu_01BoE2Wq6JB8v3tJv9bZ4Xn1","name":"get_time","input":{"timezone":"America/Los_Angeles"}}],` +
		`"stop_reason":"tool_use","stop_sequence":null,"stop_details":null,` +
		`"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":89,"service_tier":"standard"}}`

	anthropicRefusalBody = `{"id":"msg_01RfZ8xq2y4QWw1f3Pp7s9Lm","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",` +
		`"content":[{"type":"text","text":"I can help with part of"}],` +
		`"stop_reason":"refusal","stop_sequence":null,` +
		`"stop_details":{"type":"refusal","category":"cyber","explanation":"The request asks for working malware."},` +
		`"usage":{"input_tokens":31,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":7,"service_tier":"standard"}}`

	anthropicJSONBody = `{"id":"msg_01JsOnStRuCtUrEd0000000","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",` +
		`"content":[{"type":"text","text":"{\"name\":\"Ada Lovelace\",\"born\":1815}"}],` +
		`"stop_reason":"end_turn","stop_sequence":null,"stop_details":null,` +
		`"usage":{"input_tokens":58,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":17,"service_tier":"standard"}}`
)

// sseEvent writes one server-sent event as the Messages API does.
func sseEvent(name, data string) string {
	return "event: " + name + "\ndata: " + data + "\n\n"
}

// jsonDelta is a content_block_delta of type input_json_delta carrying
// piece, encoded as the service encodes it.
func jsonDelta(index int, piece string) string {
	p, _ := json.Marshal(piece)
	return sseEvent("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"input_json_delta","partial_json":%s}}`, index, p))
}

func textDelta(index int, text string) string {
	p, _ := json.Marshal(text)
	return sseEvent("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"text_delta","text":%s}}`, index, p))
}

func blockStop(index int) string {
	return sseEvent("content_block_stop", fmt.Sprintf(`{"type":"content_block_stop","index":%d}`, index))
}

func toolStart(index int, id, name string) string {
	return sseEvent("content_block_start", fmt.Sprintf(`{"type":"content_block_start","index":%d,"content_block":{"type":"tool_use","id":%q,"name":%q,"input":{}}}`, index, id, name))
}

const streamMessageStart = "event: message_start\n" +
	`data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"stop_details":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}}}` + "\n\n"

func streamEnd(stopReason string, outputTokens int) string {
	return sseEvent("message_delta", fmt.Sprintf(`{"type":"message_delta","delta":{"stop_reason":%q,"stop_sequence":null,"stop_details":null},"usage":{"output_tokens":%d}}`, stopReason, outputTokens)) +
		sseEvent("message_stop", `{"type":"message_stop"}`)
}

// The arguments of the streamed calls, and the pieces they arrive in: cut
// inside keys, inside a \u escape, between a backslash and the quote it
// escapes, and between the digits of a number.
const (
	weatherArgs = `{"location": "Z\u00fcrich, \"CH\"", "unit": "celsius", "days": 14}`
	timeArgs    = `{"timezone":"Europe/Zurich"}`
)

var weatherPieces = []string{"", `{"loc`, `ation": "Z\u00`, `fcrich, \`, `"CH\`, `""`, `, "unit": "cel`, `sius", "days": 1`, `4}`}
var timePieces = []string{"", `{"timezone":"Europe/Zurich"}`}

// anthropicToolStream is a streamed turn: some text, then two tool calls.
func anthropicToolStream() string {
	var b strings.Builder
	b.WriteString(streamMessageStart)
	b.WriteString(sseEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`))
	b.WriteString(sseEvent("ping", `{"type": "ping"}`))
	b.WriteString(textDelta(0, "Checking "))
	b.WriteString(textDelta(0, "both."))
	b.WriteString(blockStop(0))
	b.WriteString(toolStart(1, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"))
	for _, p := range weatherPieces {
		b.WriteString(jsonDelta(1, p))
	}
	b.WriteString(blockStop(1))
	b.WriteString(toolStart(2, "toolu_01XbVq3AqkPz2bc8xsF6e5Lk", "get_time"))
	for _, p := range timePieces {
		b.WriteString(jsonDelta(2, p))
	}
	b.WriteString(blockStop(2))
	b.WriteString(streamEnd("tool_use", 89))
	return b.String()
}

var weatherTool = Tool{
	Name:        "get_weather",
	Description: "Get the current weather in a given location",
	InputSchema: json.RawMessage(`{"type":"object","properties":{"location":{"type":"string","description":"City and country"},"unit":{"type":"string","enum":["celsius","fahrenheit"]},"days":{"type":"integer","maximum":9007199254740993}},"required":["location"]}`),
}

var timeTool = Tool{Name: "get_time"}

func toolRequest(text string) Request {
	return Request{Messages: []Message{{Role: RoleUser, Content: text}}, Tools: []Tool{weatherTool, timeTool}}
}

// jsonOf decodes s for comparison with the bodies the server recorded.
func jsonOf(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON in test: %v: %s", err, s)
	}
	return v
}

func sameJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	if w := jsonOf(t, want); !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Fatalf("%s =\n  %s\nwant\n  %s", what, g, want)
	}
}

func TestAnthropicToolCallsPlain(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicToolUseBody})
	p := newTestAnthropic(t, srv.URL)
	resp, err := p.Execute(context.Background(), toolRequest("Weather and time in San Francisco?"))
	if err != nil {
		t.Fatal(err)
	}
	weather := ToolCall{ID: "toolu_01A09q90qw90lq917835lq9", Name: "get_weather", Arguments: json.RawMessage(`{"location":"San Francisco, CA","unit":"celsius"}`)}
	clock := ToolCall{ID: "toolu_01BoE2Wq6JB8v3tJv9bZ4Xn1", Name: "get_time", Arguments: json.RawMessage(`{"timezone":"America/Los_Angeles"}`)}
	want := Response{
		Text:       "I'll look up both cities.",
		Content:    []Block{Text{Text: "I'll look up both cities."}, weather, clock},
		ToolCalls:  []ToolCall{weather, clock},
		Model:      "claude-sonnet-4-5-20250929",
		Stop:       StopToolUse,
		StopReason: "tool_use",
		Usage:      Usage{InputTokens: 472, OutputTokens: 89},
	}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("response =\n  %+v\nwant\n  %+v", resp, want)
	}
	b := srv.last(t).body
	sameJSON(t, "tools", b["tools"], `[
		{"name":"get_weather","description":"Get the current weather in a given location",
		 "input_schema":{"type":"object","properties":{"location":{"type":"string","description":"City and country"},"unit":{"type":"string","enum":["celsius","fahrenheit"]},"days":{"type":"integer","maximum":9007199254740993}},"required":["location"]}},
		{"name":"get_time","input_schema":{"type":"object"}}]`)
	// The schema's numbers go out as written, not through a float64.
	if raw := srv.last(t).raw; !strings.Contains(raw, `"maximum":9007199254740993`) {
		t.Fatalf("the schema's number changed on the way: %s", raw)
	}
	if _, ok := b["tool_choice"]; ok {
		t.Fatalf("tool_choice sent for the default choice: %v", b["tool_choice"])
	}
}

func TestAnthropicSingleForcedToolCallPlain(t *testing.T) {
	// A forced tool: the reply is the call alone, without text.
	body := `{"id":"msg_01Fz3Kq8Lw2Nn5Xc7Vb9Mm1Q","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",` +
		`"content":[{"type":"tool_use","id":"toolu_01D7FLrfh4GYq7yT1ULFeyMV","name":"get_time","input":{}}],` +
		`"stop_reason":"tool_use","stop_sequence":null,"stop_details":null,` +
		`"usage":{"input_tokens":396,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":38,"service_tier":"standard"}}`
	srv := newFakeServer(t, reply{body: body})
	p := newTestAnthropic(t, srv.URL)
	req := toolRequest("What time is it?")
	req.ToolChoice = ForceTool("get_time")
	req.NoParallelToolCalls = true
	resp, err := p.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	call := ToolCall{ID: "toolu_01D7FLrfh4GYq7yT1ULFeyMV", Name: "get_time", Arguments: json.RawMessage(`{}`)}
	if !reflect.DeepEqual(resp.ToolCalls, []ToolCall{call}) || !reflect.DeepEqual(resp.Content, []Block{call}) || resp.Text != "" || resp.Stop != StopToolUse {
		t.Fatalf("response = %+v", resp)
	}
	sameJSON(t, "tool_choice", srv.last(t).body["tool_choice"], `{"type":"tool","name":"get_time","disable_parallel_tool_use":true}`)
}

func TestAnthropicToolCallsStreamed(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicToolStream(), sse: true}, reply{body: anthropicMessageBody})
	p := newTestAnthropic(t, srv.URL)
	var events []string
	var got []ToolCall
	req := toolRequest("Weather and time in Zürich?")
	req.OnDelta = func(d string) { events = append(events, "text:"+d) }
	req.OnToolCall = func(c ToolCall) {
		events = append(events, "call:"+c.Name)
		got = append(got, c)
	}
	resp, err := p.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(weatherPieces, "") != weatherArgs || strings.Join(timePieces, "") != timeArgs {
		t.Fatal("the pieces do not make the arguments")
	}
	if want := []string{"text:Checking ", "text:both.", "call:get_weather", "call:get_time"}; !reflect.DeepEqual(events, want) {
		t.Fatalf("callbacks = %q, want %q", events, want)
	}
	weather := ToolCall{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Arguments: json.RawMessage(weatherArgs)}
	clock := ToolCall{ID: "toolu_01XbVq3AqkPz2bc8xsF6e5Lk", Name: "get_time", Arguments: json.RawMessage(timeArgs)}
	if !reflect.DeepEqual(got, []ToolCall{weather, clock}) {
		t.Fatalf("OnToolCall got %+v", got)
	}
	var args struct {
		Location string
		Days     int
	}
	if err := json.Unmarshal(got[0].Arguments, &args); err != nil || args.Location != `Zürich, "CH"` || args.Days != 14 {
		t.Fatalf("arguments %s decode to %+v, %v", got[0].Arguments, args, err)
	}
	want := Response{
		Text:       "Checking both.",
		Content:    []Block{Text{Text: "Checking both."}, weather, clock},
		ToolCalls:  []ToolCall{weather, clock},
		Model:      "claude-sonnet-4-5-20250929",
		Stop:       StopToolUse,
		StopReason: "tool_use",
		Usage:      Usage{InputTokens: 472, OutputTokens: 89},
	}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("response =\n  %+v\nwant\n  %+v", resp, want)
	}
	if srv.last(t).body["stream"] != true {
		t.Fatal("stream not requested")
	}

	// The streamed calls go back as the model wrote them.
	req.OnDelta, req.OnToolCall = nil, nil
	req.Messages = append(req.Messages, resp.Message(), Message{Role: RoleUser, Blocks: []Block{
		ToolResult{CallID: weather.ID, Content: []Block{Text{Text: "4°C, fog"}}},
		ToolResult{CallID: clock.ID, Content: []Block{Text{Text: "23:05"}}},
	}})
	if _, err := p.Execute(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	sent := srv.last(t).body["messages"].([]any)
	sameJSON(t, "assistant message", sent[1], `{"role":"assistant","content":[
		{"type":"text","text":"Checking both."},
		{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":`+weatherArgs+`},
		{"type":"tool_use","id":"toolu_01XbVq3AqkPz2bc8xsF6e5Lk","name":"get_time","input":`+timeArgs+`}]}`)
}

// TestAnthropicOnToolCallAtBlockStop holds the stream after the first
// call's content_block_stop until OnToolCall has seen that call: a
// provider that waited for the end of the message would never get the
// rest.
func TestAnthropicOnToolCallAtBlockStop(t *testing.T) {
	full := anthropicToolStream()
	cut := strings.Index(full, blockStop(1)) + len(blockStop(1))
	seen := make(chan struct{})
	srv := newFakeServer(t, reply{})
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(full[:cut]))
		w.(http.Flusher).Flush()
		select {
		case <-seen:
			_, _ = w.Write([]byte(full[cut:]))
		case <-time.After(10 * time.Second):
			// Cut short: the call fails and so does the test.
		case <-r.Context().Done():
		}
	})
	p := newTestAnthropic(t, srv.URL)
	req := toolRequest("x")
	calls := 0
	req.OnToolCall = func(c ToolCall) {
		calls++
		if calls == 1 {
			close(seen)
		}
	}
	resp, err := p.Execute(context.Background(), req)
	if err != nil {
		t.Fatalf("err = %v (was the first call held back until the end?)", err)
	}
	if calls != 2 || len(resp.ToolCalls) != 2 {
		t.Fatalf("%d calls seen, %d in the response", calls, len(resp.ToolCalls))
	}
}

// TestAnthropicEmptyTextBlockLeftOut: a text block that got no delta is
// not part of the reply, so the reply can go back as it is (the API
// refuses empty text blocks).
func TestAnthropicEmptyTextBlockLeftOut(t *testing.T) {
	stream := streamMessageStart +
		sseEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`) +
		blockStop(0) +
		toolStart(1, "toolu_01Only", "get_time") + jsonDelta(1, "") + blockStop(1) +
		streamEnd("tool_use", 12)
	srv := newFakeServer(t, reply{body: stream, sse: true}, reply{body: anthropicMessageBody})
	p := newTestAnthropic(t, srv.URL)
	req := toolRequest("What time is it?")
	req.OnToolCall = func(ToolCall) {}
	resp, err := p.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	call := ToolCall{ID: "toolu_01Only", Name: "get_time", Arguments: json.RawMessage(`{}`)}
	if !reflect.DeepEqual(resp.Content, []Block{call}) {
		t.Fatalf("content = %+v", resp.Content)
	}
	req.OnToolCall = nil
	req.Messages = append(req.Messages, resp.Message(), Message{Role: RoleUser, Blocks: []Block{ToolResult{CallID: call.ID}}})
	if _, err := p.Execute(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	sent := srv.last(t).body["messages"].([]any)
	sameJSON(t, "messages[1:]", sent[1:], `[
		{"role":"assistant","content":[{"type":"tool_use","id":"toolu_01Only","name":"get_time","input":{}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01Only"}]}]`)
}

func TestAnthropicStreamedToolCallNotJSON(t *testing.T) {
	var b strings.Builder
	b.WriteString(streamMessageStart)
	b.WriteString(toolStart(0, "toolu_01Bad", "get_weather"))
	b.WriteString(jsonDelta(0, `{"location": "Par`))
	b.WriteString(blockStop(0)) // the object never closes
	b.WriteString(streamEnd("tool_use", 20))
	srv := newFakeServer(t, reply{body: b.String(), sse: true})
	p := newTestAnthropic(t, srv.URL)
	req := toolRequest("x")
	called := false
	req.OnToolCall = func(ToolCall) { called = true }
	_, err := p.Execute(context.Background(), req)
	var re *ResponseError
	if !errors.As(err, &re) || recovery.IsRetryable(err) {
		t.Fatalf("err = %T %v, want a non-retryable *ResponseError", err, err)
	}
	if !strings.Contains(err.Error(), "toolu_01Bad") {
		t.Fatalf("the error does not name the call: %v", err)
	}
	if called {
		t.Fatal("OnToolCall got a call whose arguments do not parse")
	}
}

func TestAnthropicStreamedToolCallNeverStopped(t *testing.T) {
	var b strings.Builder
	b.WriteString(streamMessageStart)
	b.WriteString(toolStart(0, "toolu_01Open", "get_time"))
	b.WriteString(jsonDelta(0, `{}`))
	b.WriteString(streamEnd("tool_use", 5))
	srv := newFakeServer(t, reply{body: b.String(), sse: true})
	p := newTestAnthropic(t, srv.URL)
	req := toolRequest("x")
	req.OnToolCall = func(ToolCall) {}
	_, err := p.Execute(context.Background(), req)
	var re *ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("err = %T %v, want a *ResponseError", err, err)
	}
}

func TestAnthropicToolResultsSentBack(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicToolUseBody}, reply{body: anthropicMessageBody})
	p := newTestAnthropic(t, srv.URL)
	req := toolRequest("Weather and time in San Francisco?")
	first, err := p.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	req.Messages = append(req.Messages, first.Message(), Message{
		Role:    RoleUser,
		Content: "Answer in one sentence.",
		Blocks: []Block{
			ToolResult{CallID: first.ToolCalls[0].ID, IsError: true, Content: []Block{
				Text{Text: "weather service unavailable; radar image attached"},
				Image{MediaType: "image/png", Data: png},
			}},
			ToolResult{CallID: first.ToolCalls[1].ID, Content: []Block{Text{Text: "14:05 PDT"}}},
		},
	})
	if _, err := p.Execute(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	msgs := srv.last(t).body["messages"].([]any)
	if len(msgs) != 3 {
		t.Fatalf("%d messages sent", len(msgs))
	}
	sameJSON(t, "assistant message", msgs[1], `{"role":"assistant","content":[
		{"type":"text","text":"I'll look up both cities."},
		{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA","unit":"celsius"}},
		{"type":"tool_use","id":"toolu_01BoE2Wq6JB8v3tJv9bZ4Xn1","name":"get_time","input":{"timezone":"America/Los_Angeles"}}]}`)
	// The tool results come first in the user message, as the API
	// requires, then its text.
	sameJSON(t, "user message", msgs[2], `{"role":"user","content":[
		{"type":"tool_result","tool_use_id":"toolu_01A09q90qw90lq917835lq9","is_error":true,"content":[
			{"type":"text","text":"weather service unavailable; radar image attached"},
			{"type":"image","source":{"type":"base64","media_type":"image/png","data":"`+base64.StdEncoding.EncodeToString(png)+`"}}]},
		{"type":"tool_result","tool_use_id":"toolu_01BoE2Wq6JB8v3tJv9bZ4Xn1","content":[{"type":"text","text":"14:05 PDT"}]},
		{"type":"text","text":"Answer in one sentence."}]}`)
}

func TestAnthropicImagesInUserMessages(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicMessageBody})
	p := newTestAnthropic(t, srv.URL)
	jpeg := []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F'}
	_, err := p.Execute(context.Background(), Request{Messages: []Message{{
		Role:    RoleUser,
		Content: "What differs between these?",
		Blocks: []Block{
			Image{MediaType: "image/jpeg", Data: jpeg},
			Image{URL: "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"},
			Image{URL: "data:image/webp;base64,UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=="},
			Text{Text: "Be brief."},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "messages", srv.last(t).body["messages"], `[{"role":"user","content":[
		{"type":"text","text":"What differs between these?"},
		{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"`+base64.StdEncoding.EncodeToString(jpeg)+`"}},
		{"type":"image","source":{"type":"url","url":"https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"}},
		{"type":"image","source":{"type":"base64","media_type":"image/webp","data":"UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=="}},
		{"type":"text","text":"Be brief."}]}]`)
}

func TestAnthropicToolChoiceOnTheWire(t *testing.T) {
	cases := []struct {
		choice     ToolChoice
		noParallel bool
		want       string // "" means no tool_choice
	}{
		{ToolChoice{}, false, ""},
		{ToolChoice{}, true, `{"type":"auto","disable_parallel_tool_use":true}`},
		{ToolChoice{Mode: ToolChoiceNone}, false, `{"type":"none"}`},
		{ToolChoice{Mode: ToolChoiceNone}, true, `{"type":"none"}`},
		{ToolChoice{Mode: ToolChoiceRequired}, false, `{"type":"any"}`},
		{ToolChoice{Mode: ToolChoiceRequired}, true, `{"type":"any","disable_parallel_tool_use":true}`},
		{ForceTool("get_time"), false, `{"type":"tool","name":"get_time"}`},
		{ForceTool("get_time"), true, `{"type":"tool","name":"get_time","disable_parallel_tool_use":true}`},
	}
	srv := newFakeServer(t, reply{body: anthropicToolUseBody})
	p := newTestAnthropic(t, srv.URL)
	for _, c := range cases {
		req := toolRequest("x")
		req.ToolChoice = c.choice
		req.NoParallelToolCalls = c.noParallel
		if _, err := p.Execute(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		got, ok := srv.last(t).body["tool_choice"]
		if c.want == "" {
			if ok {
				t.Errorf("%+v: tool_choice %v sent, want none", c.choice, got)
			}
			continue
		}
		if !ok {
			t.Errorf("%+v parallel off %v: no tool_choice sent", c.choice, c.noParallel)
			continue
		}
		if w := jsonOf(t, c.want); !reflect.DeepEqual(got, w) {
			t.Errorf("%+v parallel off %v: tool_choice = %v, want %s", c.choice, c.noParallel, got, c.want)
		}
	}
	// Without tools there is nothing to choose: no tools, no tool_choice.
	req := userRequest("x")
	req.NoParallelToolCalls = true
	req.ToolChoice = ToolChoice{Mode: ToolChoiceNone}
	if _, err := p.Execute(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tools", "tool_choice"} {
		if v, ok := srv.last(t).body[k]; ok {
			t.Errorf("%s = %v sent without tools", k, v)
		}
	}
}

func TestAnthropicStructuredOutput(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicJSONBody})
	p := newTestAnthropic(t, srv.URL)
	schema := `{"type":"object","properties":{"name":{"type":"string"},"born":{"type":"integer"}},"required":["name","born"],"additionalProperties":false}`
	req := userRequest("Who wrote the first program? Name and year of birth.")
	req.ResponseFormat = &JSONSchemaFormat{Name: "person", Schema: json.RawMessage(schema)}
	resp, err := p.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	rec := srv.last(t)
	sameJSON(t, "output_config", rec.body["output_config"], `{"format":{"type":"json_schema","schema":`+schema+`}}`)
	for _, k := range []string{"output_format", "response_format"} {
		if _, ok := rec.body[k]; ok {
			t.Errorf("%s sent: %s", k, rec.raw)
		}
	}
	if beta := rec.header.Get("anthropic-beta"); beta != "" {
		t.Errorf("anthropic-beta = %q; output_config needs no beta", beta)
	}
	var person struct {
		Name string `json:"name"`
		Born int    `json:"born"`
	}
	if err := json.Unmarshal([]byte(resp.Text), &person); err != nil || person.Name != "Ada Lovelace" || person.Born != 1815 {
		t.Fatalf("reply %q decodes to %+v, %v", resp.Text, person, err)
	}
	if resp.Stop != StopEndTurn {
		t.Fatalf("stop = %q", resp.Stop)
	}
}

func TestAnthropicRefusalPlain(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicRefusalBody})
	p := newTestAnthropic(t, srv.URL)
	resp, err := p.Execute(context.Background(), userRequest("Write ransomware."))
	checkRefusal(t, resp, err, "I can help with part of", Usage{InputTokens: 31, OutputTokens: 7})
}

func TestAnthropicRefusalStreamed(t *testing.T) {
	stream := streamMessageStart +
		sseEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`) +
		textDelta(0, "I can help ") + textDelta(0, "with part of") + blockStop(0) +
		sseEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null,"stop_details":{"type":"refusal","category":"cyber","explanation":"The request asks for working malware."}},"usage":{"output_tokens":7}}`) +
		sseEvent("message_stop", `{"type":"message_stop"}`)
	srv := newFakeServer(t, reply{body: stream, sse: true})
	p := newTestAnthropic(t, srv.URL)
	req := userRequest("Write ransomware.")
	var text strings.Builder
	req.OnDelta = func(d string) { text.WriteString(d) }
	resp, err := p.Execute(context.Background(), req)
	checkRefusal(t, resp, err, "I can help with part of", Usage{InputTokens: 472, OutputTokens: 7})
	if text.String() != "I can help with part of" {
		t.Fatalf("OnDelta got %q", text.String())
	}
}

func checkRefusal(t *testing.T, resp Response, err error, text string, usage Usage) {
	t.Helper()
	var re *RefusalError
	if !errors.As(err, &re) || !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %T %v, want a *RefusalError matching ErrRefused", err, err)
	}
	if recovery.IsRetryable(err) {
		t.Fatal("a refusal is retryable")
	}
	if !reflect.DeepEqual(resp, Response{}) {
		t.Fatalf("a refusal returned a response: %+v", resp)
	}
	if re.Provider != "anthropic" || re.Stop != StopRefusal || re.Model != "claude-sonnet-4-5-20250929" || re.Refusal != "The request asks for working malware." {
		t.Fatalf("refusal = %+v", re)
	}
	r := re.Response
	if r.Text != text || r.Stop != StopRefusal || r.StopReason != "refusal" || r.Usage != usage || len(r.Content) != 1 {
		t.Fatalf("refused reply = %+v", r)
	}
	if !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "malware") {
		t.Fatalf("message = %q", err.Error())
	}
}

func TestAnthropicStopReasons(t *testing.T) {
	cases := map[string]StopReason{
		"end_turn":                      StopEndTurn,
		"tool_use":                      StopToolUse,
		"max_tokens":                    StopMaxTokens,
		"model_context_window_exceeded": StopMaxTokens,
		"stop_sequence":                 StopSequence,
		"pause_turn":                    StopPauseTurn,
		"compaction_requested":          StopOther,
	}
	for raw, want := range cases {
		body := strings.Replace(anthropicMessageBody, `"stop_reason":"end_turn"`, `"stop_reason":"`+raw+`"`, 1)
		srv := newFakeServer(t, reply{body: body})
		p := newTestAnthropic(t, srv.URL)
		resp, err := p.Execute(context.Background(), userRequest("x"))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if resp.Stop != want || resp.StopReason != raw {
			t.Errorf("%s: stop %q, raw %q; want %q", raw, resp.Stop, resp.StopReason, want)
		}
	}
}

func TestAnthropicInvalidContentRefusedBeforeSending(t *testing.T) {
	srv := newFakeServer(t, reply{body: anthropicMessageBody})
	p := newTestAnthropic(t, srv.URL)
	user := func(blocks ...Block) Message { return Message{Role: RoleUser, Blocks: blocks} }
	assistant := func(blocks ...Block) Message { return Message{Role: RoleAssistant, Blocks: blocks} }
	call := ToolCall{ID: "toolu_1", Name: "get_time", Arguments: json.RawMessage(`{}`)}
	png := []byte{0x89, 'P', 'N', 'G'}
	long := strings.Repeat("a", 65)
	cases := map[string]struct {
		req   Request
		field string
	}{
		"result in assistant":  {Request{Messages: []Message{assistant(ToolResult{CallID: "toolu_1"})}}, "Messages[0].Blocks[0]"},
		"call in user":         {Request{Messages: []Message{user(call)}}, "Messages[0].Blocks[0]"},
		"image in assistant":   {Request{Messages: []Message{assistant(Image{URL: "https://example.com/a.png"})}}, "Messages[0].Blocks[0]"},
		"image without source": {Request{Messages: []Message{user(Image{MediaType: "image/png"})}}, "Messages[0].Blocks[0]"},
		"image with both":      {Request{Messages: []Message{user(Image{MediaType: "image/png", Data: png, URL: "https://example.com/a.png"})}}, "Messages[0].Blocks[0]"},
		"data without type":    {Request{Messages: []Message{user(Image{Data: png})}}, "Messages[0].Blocks[0].MediaType"},
		"unsupported type":     {Request{Messages: []Message{user(Image{Data: png, MediaType: "image/tiff"})}}, "Messages[0].Blocks[0].MediaType"},
		"image in result":      {Request{Messages: []Message{user(ToolResult{CallID: "toolu_1", Content: []Block{Image{Data: png, MediaType: "image/bmp"}}})}}, "Messages[0].Blocks[0].Content[0].MediaType"},
		"call in result":       {Request{Messages: []Message{user(ToolResult{CallID: "toolu_1", Content: []Block{call}})}}, "Messages[0].Blocks[0].Content[0]"},
		"relative URL":         {Request{Messages: []Message{user(Image{URL: "/a.png"})}}, "Messages[0].Blocks[0].URL"},
		"data URL not base64":  {Request{Messages: []Message{user(Image{URL: "data:image/png,abc"})}}, "Messages[0].Blocks[0].URL"},
		"nil block":            {Request{Messages: []Message{user(nil)}}, "Messages[0].Blocks[0]"},
		"pointer block":        {Request{Messages: []Message{user(&Text{Text: "x"})}}, "Messages[0].Blocks[0]"},
		"call without ID":      {Request{Messages: []Message{assistant(ToolCall{Name: "get_time"})}}, "Messages[0].Blocks[0].ID"},
		"call arguments":       {Request{Messages: []Message{assistant(ToolCall{ID: "toolu_1", Name: "get_time", Arguments: json.RawMessage(`[1]`)})}}, "Messages[0].Blocks[0].Arguments"},
		"result without ID":    {Request{Messages: []Message{user(ToolResult{})}}, "Messages[0].Blocks[0].CallID"},
		"tool name space":      {Request{Messages: []Message{user(Text{Text: "x"})}, Tools: []Tool{{Name: "get time"}}}, "Tools[0].Name"},
		"tool name empty":      {Request{Messages: []Message{user(Text{Text: "x"})}, Tools: []Tool{{}}}, "Tools[0].Name"},
		"tool name long":       {Request{Messages: []Message{user(Text{Text: "x"})}, Tools: []Tool{{Name: long}}}, "Tools[0].Name"},
		"tool name dot":        {Request{Messages: []Message{user(Text{Text: "x"})}, Tools: []Tool{{Name: "time.now"}}}, "Tools[0].Name"},
		"duplicate tools":      {Request{Messages: []Message{user(Text{Text: "x"})}, Tools: []Tool{timeTool, weatherTool, timeTool}}, "Tools[2].Name"},
		"schema not object":    {Request{Messages: []Message{user(Text{Text: "x"})}, Tools: []Tool{{Name: "t", InputSchema: json.RawMessage(`{"type":"string"}`)}}}, "Tools[0].InputSchema"},
		"schema not JSON":      {Request{Messages: []Message{user(Text{Text: "x"})}, Tools: []Tool{{Name: "t", InputSchema: json.RawMessage(`{"type":`)}}}, "Tools[0].InputSchema"},
		"force without name":   {Request{Messages: []Message{user(Text{Text: "x"})}, Tools: []Tool{timeTool}, ToolChoice: ToolChoice{Mode: ToolChoiceTool}}, "ToolChoice.Name"},
		"force unknown tool":   {Request{Messages: []Message{user(Text{Text: "x"})}, Tools: []Tool{timeTool}, ToolChoice: ForceTool("get_weather")}, "ToolChoice.Name"},
		"required, no tools":   {Request{Messages: []Message{user(Text{Text: "x"})}, ToolChoice: ToolChoice{Mode: ToolChoiceRequired}}, "ToolChoice"},
		"unknown mode":         {Request{Messages: []Message{user(Text{Text: "x"})}, Tools: []Tool{timeTool}, ToolChoice: ToolChoice{Mode: "any"}}, "ToolChoice.Mode"},
		"format without JSON":  {Request{Messages: []Message{user(Text{Text: "x"})}, ResponseFormat: &JSONSchemaFormat{Schema: json.RawMessage(`"object"`)}}, "ResponseFormat.Schema"},
		"format empty":         {Request{Messages: []Message{user(Text{Text: "x"})}, ResponseFormat: &JSONSchemaFormat{}}, "ResponseFormat.Schema"},
	}
	for name, c := range cases {
		_, err := p.Execute(context.Background(), c.req)
		var bad *recovery.InvalidInputError
		if !errors.As(err, &bad) || recovery.IsRetryable(err) {
			t.Errorf("%s: err = %v, want a non-retryable *recovery.InvalidInputError", name, err)
			continue
		}
		if bad.Field != c.field {
			t.Errorf("%s: field %q, want %q (%v)", name, bad.Field, c.field, err)
		}
	}
	if n := srv.count(); n != 0 {
		t.Fatalf("the server got %d requests, want 0", n)
	}
}
