package llm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ttadev/primitives/recovery"
)

var openAIWeatherTool = Tool{
	Name:        "get_weather",
	Description: "Current weather for a place.",
	// Keys deliberately out of alphabetical order: they must go as given.
	InputSchema: json.RawMessage(`{"type":"object","properties":{"location":{"type":"string"},"unit":{"type":"string","enum":["c","f"]}},"required":["location"],"additionalProperties":false}`),
}

func weatherRequest() Request {
	return Request{
		Messages: []Message{{Role: RoleUser, Content: "Weather in Paris and Bogotá?"}},
		Tools:    []Tool{openAIWeatherTool, {Name: "now"}},
	}
}

func TestOpenAIParallelToolCalls(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAIToolCallsBody})
	p := newTestOpenAI(t, srv.URL)
	resp, err := p.Execute(context.Background(), weatherRequest())
	if err != nil {
		t.Fatal(err)
	}
	calls := []ToolCall{
		{ID: "call_Qz9Oi1gc4PAnJA4Ts6SPJ40l", Name: "get_weather", Arguments: json.RawMessage(`{"location":"Paris, France"}`)},
		{ID: "call_Xu7hpkwaVymn6PuX4wqqZaXs", Name: "get_weather", Arguments: json.RawMessage(`{"location":"Bogotá, Colombia"}`)},
	}
	want := Response{Content: []Block{calls[0], calls[1]}, ToolCalls: calls, Model: "gpt-4.1-2025-04-14",
		Stop: StopToolUse, StopReason: "tool_calls", Usage: Usage{InputTokens: 80, OutputTokens: 54}}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("response = %+v\nwant       %+v", resp, want)
	}
	if m := resp.Message(); m.Role != RoleAssistant || len(m.Blocks) != 2 {
		t.Fatalf("Message() = %+v", m)
	}

	req := srv.last(t)
	tools, _ := req.body["tools"].([]any)
	if len(tools) != 2 {
		t.Fatalf("tools = %v", req.body["tools"])
	}
	if !jsonEqual(t, tools[0], `{"type":"function","function":{"name":"get_weather","description":"Current weather for a place.","parameters":`+string(openAIWeatherTool.InputSchema)+`}}`) {
		t.Errorf("tools[0] = %v", tools[0])
	}
	if !jsonEqual(t, tools[1], `{"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}}`) {
		t.Errorf("tools[1] = %v (a nil schema must be an empty object schema)", tools[1])
	}
	if !strings.Contains(req.raw, `"parameters":`+string(openAIWeatherTool.InputSchema)) {
		t.Errorf("the schema was not sent as given (key order): %s", req.raw)
	}
	for _, k := range []string{"tool_choice", "parallel_tool_calls", "response_format"} {
		if _, ok := req.body[k]; ok {
			t.Errorf("%s sent by default: %s", k, req.raw)
		}
	}
}

func TestOpenAITextThenToolCall(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAITextAndToolCallBody})
	p := newTestOpenAI(t, srv.URL)
	req := userRequest("What is 1+1? Use Python.")
	req.Tools = []Tool{{Name: "run_python", InputSchema: json.RawMessage(`{"type":"object","properties":{"code":{"type":"string"}}}`)}}
	resp, err := p.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	call := ToolCall{ID: "call_8Hn2mPq4rS6tU8vW0xY2zA4b", Name: "run_python", Arguments: json.RawMessage(`{"code":"print(1+1)"}`)}
	if !reflect.DeepEqual(resp.Content, []Block{Text{Text: "Let me run that."}, call}) || resp.Text != "Let me run that." ||
		!reflect.DeepEqual(resp.ToolCalls, []ToolCall{call}) || resp.Usage.CacheReadInputTokens != 64 {
		t.Fatalf("response = %+v", resp)
	}
}

// The weather stream: some text, then two calls, the arguments cut
// inside a key, between a backslash and the quote it escapes, and inside
// a multi-byte character's string.
func weatherStream() string {
	return openAIChunk(`{"role":"assistant","content":"","refusal":null}`, "null") +
		openAIChunk(`{"content":"Checking "}`, "null") +
		openAIChunk(`{"content":"both."}`, "null") +
		openAIChunk(openAICallStart(false, 0, "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather"), "null") +
		openAIChunk(openAICallArgs(0, `{"loc`), "null") +
		openAIChunk(openAICallArgs(0, `ation": "Paris \`), "null") +
		openAIChunk(openAICallArgs(0, `"Île\"", "unit":"c"}`), "null") +
		openAIChunk(openAICallStart(false, 1, "call_ABQHjS6N6T5C1Ybl3vhTpdP2", "get_weather"), "null") +
		openAIChunk(openAICallArgs(1, `{"location":"Bogo`), "null") +
		openAIChunk(openAICallArgs(1, `tá"}`), "null") +
		openAIChunk(`{}`, `"tool_calls"`) +
		openAIStreamEnd
}

var weatherStreamCalls = []ToolCall{
	{ID: "call_DdmO9pD3xa9XTPNJ32zg2hcA", Name: "get_weather", Arguments: json.RawMessage(`{"location": "Paris \"Île\"", "unit":"c"}`)},
	{ID: "call_ABQHjS6N6T5C1Ybl3vhTpdP2", Name: "get_weather", Arguments: json.RawMessage(`{"location":"Bogotá"}`)},
}

func TestOpenAIStreamedToolCalls(t *testing.T) {
	srv := newFakeServer(t, reply{body: weatherStream(), sse: true})
	p := newTestOpenAI(t, srv.URL)
	var events []string
	var got []ToolCall
	req := weatherRequest()
	req.OnDelta = func(d string) { events = append(events, "text:"+d) }
	req.OnToolCall = func(c ToolCall) { got = append(got, c); events = append(events, "call:"+c.ID) }
	resp, err := p.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, weatherStreamCalls) {
		t.Fatalf("OnToolCall got %+v\nwant %+v", got, weatherStreamCalls)
	}
	wantEvents := []string{"text:Checking ", "text:both.", "call:" + weatherStreamCalls[0].ID, "call:" + weatherStreamCalls[1].ID}
	if !reflect.DeepEqual(events, wantEvents) {
		t.Fatalf("events = %q, want %q", events, wantEvents)
	}
	want := Response{Text: "Checking both.", Content: []Block{Text{Text: "Checking both."}, weatherStreamCalls[0], weatherStreamCalls[1]},
		ToolCalls: weatherStreamCalls, Model: "gpt-4.1-2025-04-14", Stop: StopToolUse, StopReason: "tool_calls",
		Usage: Usage{InputTokens: 85, OutputTokens: 48}}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("response = %+v\nwant       %+v", resp, want)
	}
	b := srv.last(t).body
	if so, _ := b["stream_options"].(map[string]any); b["stream"] != true || so["include_usage"] != true {
		t.Fatalf("stream/stream_options = %v/%v", b["stream"], b["stream_options"])
	}
}

// OnToolCall alone makes the call stream; with OnDelta nil the text is
// still in the Response.
func TestOpenAIOnToolCallAloneStreams(t *testing.T) {
	srv := newFakeServer(t, reply{body: weatherStream(), sse: true})
	p := newTestOpenAI(t, srv.URL)
	var got []ToolCall
	req := weatherRequest()
	req.OnToolCall = func(c ToolCall) { got = append(got, c) }
	resp, err := p.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if srv.last(t).body["stream"] != true || len(got) != 2 || resp.Text != "Checking both." || len(resp.ToolCalls) != 2 {
		t.Fatalf("stream = %v, calls = %+v, response = %+v", srv.last(t).body["stream"], got, resp)
	}
}

// A call is passed on as soon as the stream moves past it: the server
// holds the rest of the stream until the first call has reached
// OnToolCall.
func TestOpenAIStreamedToolCallDeliveredBeforeTheEnd(t *testing.T) {
	head := openAIChunk(openAICallStart(true, 0, "call_first", "get_weather"), "null") +
		openAIChunk(openAICallArgs(0, `{"location":"Paris"}`), "null") +
		openAIChunk(openAICallStart(false, 1, "call_second", "get_weather"), "null")
	tail := openAIChunk(openAICallArgs(1, `{"location":"Rome"}`), "null") +
		openAIChunk(`{}`, `"tool_calls"`) + openAIStreamEnd
	release := make(chan struct{})
	var waited atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		_, _ = io.WriteString(w, head)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(5 * time.Second):
			waited.Store(true)
		}
		_, _ = io.WriteString(w, tail)
	}))
	t.Cleanup(srv.Close)
	p := newTestOpenAI(t, srv.URL)
	var got []string
	req := weatherRequest()
	req.OnToolCall = func(c ToolCall) {
		got = append(got, c.ID)
		if len(got) == 1 {
			close(release)
		}
	}
	if _, err := p.Execute(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if waited.Load() {
		t.Fatal("the first call reached OnToolCall only at the end of the stream")
	}
	if !reflect.DeepEqual(got, []string{"call_first", "call_second"}) {
		t.Fatalf("calls = %q", got)
	}
}

func TestOpenAIStreamedToolCallsInterleaved(t *testing.T) {
	body := openAIChunk(openAICallStart(true, 0, "call_a", "read_file"), "null") +
		openAIChunk(openAICallStart(false, 1, "call_b", "list_dir"), "null") +
		openAIChunk(openAICallArgs(1, `{"pa`), "null") +
		openAIChunk(openAICallArgs(0, `{"path":"/etc/`), "null") +
		openAIChunk(openAICallArgs(1, `th":"/tmp"}`), "null") +
		openAIChunk(openAICallArgs(0, `hosts"}`), "null") +
		openAIChunk(`{}`, `"tool_calls"`) + openAIStreamEnd
	srv := newFakeServer(t, reply{body: body, sse: true})
	p := newTestOpenAI(t, srv.URL)
	var got []ToolCall
	req := userRequest("x")
	req.Tools = []Tool{{Name: "read_file"}, {Name: "list_dir"}}
	req.OnToolCall = func(c ToolCall) { got = append(got, c) }
	resp, err := p.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := []ToolCall{
		{ID: "call_a", Name: "read_file", Arguments: json.RawMessage(`{"path":"/etc/hosts"}`)},
		{ID: "call_b", Name: "list_dir", Arguments: json.RawMessage(`{"path":"/tmp"}`)},
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(resp.ToolCalls, want) {
		t.Fatalf("OnToolCall got %+v, response %+v, want %+v", got, resp.ToolCalls, want)
	}
}

// Servers that number every call 0 (older Ollama) start a new call with a
// new id; a server that sends no arguments for a call without parameters
// gets "{}".
func TestOpenAIStreamedToolCallsSameIndex(t *testing.T) {
	body := openAIChunk(`{"role":"assistant","content":"","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"now","arguments":""}}]}`, "null") +
		openAIChunk(`{"tool_calls":[{"index":0,"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Oslo\"}"}}]}`, "null") +
		openAIChunk(`{}`, `"tool_calls"`) + openAIStreamEnd
	srv := newFakeServer(t, reply{body: body, sse: true})
	p := newTestOpenAI(t, srv.URL)
	req := weatherRequest()
	var got []ToolCall
	req.OnToolCall = func(c ToolCall) { got = append(got, c) }
	resp, err := p.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := []ToolCall{
		{ID: "call_1", Name: "now", Arguments: json.RawMessage(`{}`)},
		{ID: "call_2", Name: "get_weather", Arguments: json.RawMessage(`{"location":"Oslo"}`)},
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(resp.ToolCalls, want) {
		t.Fatalf("calls = %+v / %+v, want %+v", got, resp.ToolCalls, want)
	}
}

func TestOpenAIToolCallArgumentsNotJSON(t *testing.T) {
	// Streamed: the arguments never close.
	body := openAIChunk(openAICallStart(true, 0, "call_bad", "get_weather"), "null") +
		openAIChunk(openAICallArgs(0, `{"location":"Par`), "null") +
		openAIChunk(`{}`, `"tool_calls"`) + openAIStreamEnd
	srv := newFakeServer(t, reply{body: body, sse: true})
	p := newTestOpenAI(t, srv.URL)
	req := weatherRequest()
	called := 0
	req.OnToolCall = func(ToolCall) { called++ }
	_, err := p.Execute(context.Background(), req)
	var re *ResponseError
	if !errors.As(err, &re) || recovery.IsRetryable(err) || !strings.Contains(err.Error(), "call_bad") {
		t.Fatalf("streamed: err = %v, want a non-retryable *ResponseError naming the call", err)
	}
	if called != 0 {
		t.Fatalf("OnToolCall called %d times with broken arguments", called)
	}
	if strings.Contains(err.Error(), "Par") {
		t.Fatalf("the error repeats the arguments: %v", err)
	}

	// Not streamed.
	bad := strings.Replace(openAIToolCallsBody, `"{\"location\":\"Paris, France\"}"`, `"{\"location\":"`, 1)
	srv = newFakeServer(t, reply{body: bad})
	p = newTestOpenAI(t, srv.URL)
	if _, err := p.Execute(context.Background(), weatherRequest()); !errors.As(err, &re) {
		t.Fatalf("plain: err = %v, want *ResponseError", err)
	}
}

func TestOpenAIToolResultsOnTheWire(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAICompletionBody})
	p := newTestOpenAI(t, srv.URL)
	png := []byte("\x89PNG\r\n\x1a\nchart")
	req := Request{
		System: "You are a data analyst.",
		Tools:  []Tool{{Name: "plot"}, {Name: "query"}},
		Messages: []Message{
			{Role: RoleUser, Content: "Plot sales, and query the total."},
			{Role: RoleAssistant, Content: "Running both.", Blocks: []Block{
				ToolCall{ID: "call_plot", Name: "plot", Arguments: json.RawMessage(`{"table":"sales"}`)},
				ToolCall{ID: "call_query", Name: "query", Arguments: json.RawMessage(`{"sql":"SELECT sum(x) FROM sales"}`)},
			}},
			{Role: RoleUser, Content: "Also say which month was best.", Blocks: []Block{
				ToolResult{CallID: "call_plot", Content: []Block{Text{Text: "Plotted 12 months."}, Image{MediaType: "image/png", Data: png}}},
				ToolResult{CallID: "call_query", IsError: true, Content: []Block{Text{Text: "no such table: sales"}}},
			}},
		},
	}
	if _, err := p.Execute(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	msgs := messagesOf(t, srv.last(t))
	want := []string{
		`{"role":"system","content":"You are a data analyst."}`,
		`{"role":"user","content":"Plot sales, and query the total."}`,
		`{"role":"assistant","content":"Running both.","tool_calls":[` +
			`{"id":"call_plot","type":"function","function":{"name":"plot","arguments":"{\"table\":\"sales\"}"}},` +
			`{"id":"call_query","type":"function","function":{"name":"query","arguments":"{\"sql\":\"SELECT sum(x) FROM sales\"}"}}]}`,
		`{"role":"tool","tool_call_id":"call_plot","content":"Plotted 12 months.\n[1 image of this result follows in the next user message]"}`,
		`{"role":"tool","tool_call_id":"call_query","content":"The tool call failed: no such table: sales"}`,
		`{"role":"user","content":[` +
			`{"type":"text","text":"[images of the result of tool call call_plot]"},` +
			`{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgpjaGFydA=="}},` +
			`{"type":"text","text":"Also say which month was best."}]}`,
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d: %v", len(msgs), len(want), msgs)
	}
	for i := range want {
		if !jsonEqual(t, msgs[i], want[i]) {
			b, _ := json.Marshal(msgs[i])
			t.Errorf("message %d = %s\nwant        %s", i, b, want[i])
		}
	}
}

// Tool results alone make tool messages and no user message; a failed
// call without text and a result of images alone still say so.
func TestOpenAIToolResultsAlone(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAICompletionBody})
	p := newTestOpenAI(t, srv.URL)
	req := Request{Messages: []Message{
		{Role: RoleUser, Content: "go"},
		{Role: RoleAssistant, Blocks: []Block{ToolCall{ID: "c1", Name: "a"}, ToolCall{ID: "c2", Name: "b"}}},
		{Role: RoleUser, Blocks: []Block{
			ToolResult{CallID: "c1", IsError: true},
			ToolResult{CallID: "c2", Content: []Block{Image{URL: "https://example.com/a.png"}, Image{URL: "https://example.com/b.png"}}},
		}},
	}}
	if _, err := p.Execute(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	msgs := messagesOf(t, srv.last(t))
	want := []string{
		`{"role":"user","content":"go"}`,
		`{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"a","arguments":"{}"}},{"id":"c2","type":"function","function":{"name":"b","arguments":"{}"}}]}`,
		`{"role":"tool","tool_call_id":"c1","content":"The tool call failed."}`,
		`{"role":"tool","tool_call_id":"c2","content":"[2 images of this result follow in the next user message]"}`,
		`{"role":"user","content":[{"type":"text","text":"[images of the result of tool call c2]"},` +
			`{"type":"image_url","image_url":{"url":"https://example.com/a.png"}},{"type":"image_url","image_url":{"url":"https://example.com/b.png"}}]}`,
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d: %v", len(msgs), len(want), msgs)
	}
	for i := range want {
		if !jsonEqual(t, msgs[i], want[i]) {
			b, _ := json.Marshal(msgs[i])
			t.Errorf("message %d = %s\nwant        %s", i, b, want[i])
		}
	}

	// Without images, the last tool message ends the conversation.
	req.Messages[2].Blocks = req.Messages[2].Blocks[:1]
	if _, err := p.Execute(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if msgs := messagesOf(t, srv.last(t)); len(msgs) != 3 || msgs[2]["role"] != "tool" {
		t.Fatalf("messages = %v", msgs)
	}
}

func TestOpenAIImagesOnTheWire(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAICompletionBody})
	p := newTestOpenAI(t, srv.URL)
	jpeg := []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F'}
	req := Request{Messages: []Message{{Role: RoleUser, Content: "What differs?", Blocks: []Block{
		Image{MediaType: "image/jpeg", Data: jpeg},
		Text{Text: "and"},
		Image{URL: "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"},
	}}}}
	if _, err := p.Execute(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	msgs := messagesOf(t, srv.last(t))
	want := `{"role":"user","content":[{"type":"text","text":"What differs?"},` +
		`{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQSkZJRg=="}},` +
		`{"type":"text","text":"and"},` +
		`{"type":"image_url","image_url":{"url":"https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"}}]}`
	if len(msgs) != 1 || !jsonEqual(t, msgs[0], want) {
		t.Fatalf("messages = %v\nwant %s", msgs, want)
	}
}

func TestOpenAIToolChoiceOnTheWire(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAICompletionBody})
	p := newTestOpenAI(t, srv.URL)
	cases := []struct {
		name     string
		choice   ToolChoice
		noPar    bool
		tools    bool
		choiceJS string // "" for absent
		parallel any    // nil for absent
	}{
		{"auto", ToolChoice{}, false, true, "", nil},
		{"none", ToolChoice{Mode: ToolChoiceNone}, false, true, `"none"`, nil},
		{"required", ToolChoice{Mode: ToolChoiceRequired}, false, true, `"required"`, nil},
		{"forced", ForceTool("get_weather"), false, true, `{"type":"function","function":{"name":"get_weather"}}`, nil},
		{"no parallel", ToolChoice{}, true, true, "", false},
		{"forced, no parallel", ForceTool("now"), true, true, `{"type":"function","function":{"name":"now"}}`, false},
		{"none without tools", ToolChoice{Mode: ToolChoiceNone}, true, false, "", nil},
	}
	for _, c := range cases {
		req := weatherRequest()
		if !c.tools {
			req.Tools = nil
		}
		req.ToolChoice, req.NoParallelToolCalls = c.choice, c.noPar
		if _, err := p.Execute(context.Background(), req); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b := srv.last(t).body
		got, ok := b["tool_choice"]
		if c.choiceJS == "" && ok || c.choiceJS != "" && (!ok || !jsonEqual(t, got, c.choiceJS)) {
			t.Errorf("%s: tool_choice = %v, want %s", c.name, got, c.choiceJS)
		}
		if got, ok := b["parallel_tool_calls"]; got != c.parallel || ok != (c.parallel != nil) {
			t.Errorf("%s: parallel_tool_calls = %v (sent %v), want %v", c.name, got, ok, c.parallel)
		}
		if _, ok := b["tools"]; ok != c.tools {
			t.Errorf("%s: tools sent = %v", c.name, ok)
		}
	}
}

func TestOpenAIStructuredOutput(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAIStructuredBody})
	p := newTestOpenAI(t, srv.URL)
	schema := `{"type":"object","properties":{"name":{"type":"string"},"date":{"type":"string"},"participants":{"type":"array","items":{"type":"string"}}},"required":["name","date","participants"],"additionalProperties":false}`
	req := userRequest("Alice and Bob are going to a science fair on Friday.")
	req.ResponseFormat = &JSONSchemaFormat{Name: "calendar_event", Description: "An event to put in the calendar.", Schema: json.RawMessage(schema)}
	resp, err := p.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Name         string
		Date         string
		Participants []string
	}
	if err := json.Unmarshal([]byte(resp.Text), &ev); err != nil || ev.Name != "Science Fair" || len(ev.Participants) != 2 || resp.Stop != StopEndTurn {
		t.Fatalf("reply %q (%v): %+v, stop %q", resp.Text, err, ev, resp.Stop)
	}
	r := srv.last(t)
	if !jsonEqual(t, r.body["response_format"], `{"type":"json_schema","json_schema":{"name":"calendar_event","description":"An event to put in the calendar.","schema":`+schema+`,"strict":true}}`) {
		t.Fatalf("response_format = %v", r.body["response_format"])
	}
	if !strings.Contains(r.raw, `"schema":`+schema) {
		t.Fatalf("the schema was not sent as given: %s", r.raw)
	}

	// The name defaults to "response".
	req.ResponseFormat = &JSONSchemaFormat{Schema: json.RawMessage(schema)}
	if _, err := p.Execute(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	rf, _ := srv.last(t).body["response_format"].(map[string]any)
	if js, _ := rf["json_schema"].(map[string]any); js["name"] != "response" || js["strict"] != true {
		t.Fatalf("response_format = %v", rf)
	}
}

func TestOpenAIRefusal(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAIRefusalBody})
	p := newTestOpenAI(t, srv.URL)
	req := userRequest("How do I pick a lock?")
	req.ResponseFormat = &JSONSchemaFormat{Schema: json.RawMessage(`{"type":"object","properties":{"steps":{"type":"array","items":{"type":"string"}}}}`)}
	resp, err := p.Execute(context.Background(), req)
	var re *RefusalError
	if !errors.As(err, &re) || !errors.Is(err, ErrRefused) || recovery.IsRetryable(err) {
		t.Fatalf("err = %v, want a non-retryable *RefusalError", err)
	}
	if re.Stop != StopRefusal || re.Refusal != "I'm sorry, I cannot assist with that request." || re.Provider != ProviderOpenAI ||
		re.Model != "gpt-4o-2024-08-06" || re.Response.Usage.OutputTokens != 11 || re.Response.StopReason != "stop" || re.Response.Stop != StopRefusal {
		t.Fatalf("refusal = %+v", re)
	}
	if !strings.Contains(err.Error(), "I cannot assist") {
		t.Fatalf("the error does not carry the refusal: %v", err)
	}
	if !reflect.DeepEqual(resp, Response{}) {
		t.Fatalf("response = %+v, want the zero Response", resp)
	}
}

func TestOpenAIRefusalStreamed(t *testing.T) {
	body := openAIChunk(`{"role":"assistant","content":null,"refusal":""}`, "null") +
		openAIChunk(`{"refusal":"I'm sorry,"}`, "null") +
		openAIChunk(`{"refusal":" I cannot help with that."}`, "null") +
		openAIChunk(`{}`, `"stop"`) + openAIStreamEnd
	srv := newFakeServer(t, reply{body: body, sse: true})
	p := newTestOpenAI(t, srv.URL)
	req := userRequest("x")
	var deltas []string
	req.OnDelta = func(d string) { deltas = append(deltas, d) }
	_, err := p.Execute(context.Background(), req)
	var re *RefusalError
	if !errors.As(err, &re) || re.Stop != StopRefusal || re.Refusal != "I'm sorry, I cannot help with that." || re.Response.Usage.InputTokens != 85 {
		t.Fatalf("err = %v (%+v), want a *RefusalError with the streamed refusal and the usage", err, re)
	}
	if len(deltas) != 0 {
		t.Fatalf("the refusal reached OnDelta: %q", deltas)
	}
}

func TestOpenAIContentFilter(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAIContentFilterBody})
	p := newTestOpenAI(t, srv.URL)
	_, err := p.Execute(context.Background(), userRequest("x"))
	var re *RefusalError
	if !errors.As(err, &re) || re.Stop != StopContentFilter || re.Response.Text != "Here is the first part of" || re.Refusal != "" ||
		re.Response.StopReason != "content_filter" || recovery.IsRetryable(err) || !strings.Contains(err.Error(), "content filter") {
		t.Fatalf("plain: err = %v (%+v), want a content-filter *RefusalError", err, re)
	}

	body := openAIChunk(`{"role":"assistant","content":"","refusal":null}`, "null") +
		openAIChunk(`{"content":"Here is"}`, "null") +
		openAIChunk(`{}`, `"content_filter"`) + openAIStreamEnd
	srv = newFakeServer(t, reply{body: body, sse: true})
	p = newTestOpenAI(t, srv.URL)
	req := userRequest("x")
	req.OnDelta = func(string) {}
	_, err = p.Execute(context.Background(), req)
	if !errors.As(err, &re) || re.Stop != StopContentFilter || re.Response.Text != "Here is" {
		t.Fatalf("streamed: err = %v, want a content-filter *RefusalError", err)
	}
}

func TestOpenAIStopReasons(t *testing.T) {
	for reason, stop := range map[string]StopReason{
		"stop": StopEndTurn, "length": StopMaxTokens, "tool_calls": StopToolUse, "function_call": StopToolUse,
		"content_filter": StopContentFilter, "eos": StopOther,
	} {
		if got := openAIStop(reason); got != stop {
			t.Errorf("openAIStop(%q) = %q, want %q", reason, got, stop)
		}
	}
	body := strings.Replace(openAICompletionBody, `"finish_reason":"stop"`, `"finish_reason":"length"`, 1)
	srv := newFakeServer(t, reply{body: body})
	p := newTestOpenAI(t, srv.URL)
	resp, err := p.Execute(context.Background(), userRequest("x"))
	if err != nil || resp.Stop != StopMaxTokens || resp.StopReason != "length" {
		t.Fatalf("stop = %q/%q, err = %v", resp.Stop, resp.StopReason, err)
	}
}

func TestOpenAIInvalidRequests(t *testing.T) {
	srv := newFakeServer(t, reply{body: openAICompletionBody})
	p := newTestOpenAI(t, srv.URL)
	user := func(blocks ...Block) Message { return Message{Role: RoleUser, Blocks: blocks} }
	assistant := func(blocks ...Block) Message { return Message{Role: RoleAssistant, Blocks: blocks} }
	msgs := func(ms ...Message) Request { return Request{Messages: ms} }
	withTools := func(r Request, tools ...Tool) Request { r.Tools = tools; return r }
	hello := Message{Role: RoleUser, Content: "hello"}
	cases := []struct {
		name  string
		req   Request
		field string
	}{
		{"tool result in an assistant message", msgs(hello, assistant(ToolResult{CallID: "c"})), "Messages[1].Blocks[0]"},
		{"tool call in a user message", msgs(user(Text{Text: "x"}, ToolCall{ID: "c", Name: "t"})), "Messages[0].Blocks[1]"},
		{"image in an assistant message", msgs(hello, assistant(Image{URL: "https://example.com/a.png"})), "Messages[1].Blocks[0]"},
		{"image with neither", msgs(user(Image{MediaType: "image/png"})), "Messages[0].Blocks[0]"},
		{"image with both", msgs(user(Image{MediaType: "image/png", Data: []byte{1}, URL: "https://example.com/a.png"})), "Messages[0].Blocks[0]"},
		{"image data without a type", msgs(user(Image{Data: []byte{1}})), "Messages[0].Blocks[0]"},
		{"image data of a bad type", msgs(user(Image{Data: []byte{1}, MediaType: "image/bmp"})), "Messages[0].Blocks[0]"},
		{"image URL of a bad scheme", msgs(user(Image{URL: "file:///etc/passwd"})), "Messages[0].Blocks[0]"},
		{"bad image in a tool result", msgs(hello, assistant(ToolCall{ID: "c", Name: "t"}), user(ToolResult{CallID: "c", Content: []Block{Image{}}})), "Messages[2].Blocks[0]"},
		{"tool call in a tool result", msgs(hello, assistant(ToolCall{ID: "c", Name: "t"}), user(ToolResult{CallID: "c", Content: []Block{ToolCall{ID: "d", Name: "t"}}})), "Messages[2].Blocks[0]"},
		{"tool result without an id", msgs(hello, assistant(ToolCall{ID: "c", Name: "t"}), user(ToolResult{})), "Messages[2].Blocks[0]"},
		{"tool call without an id", msgs(hello, assistant(ToolCall{Name: "t"})), "Messages[1].Blocks[0]"},
		{"tool call without a name", msgs(hello, assistant(ToolCall{ID: "c"})), "Messages[1].Blocks[0]"},
		{"tool call arguments not JSON", msgs(hello, assistant(ToolCall{ID: "c", Name: "t", Arguments: json.RawMessage(`{"a":`)})), "Messages[1].Blocks[0]"},
		{"nil block", msgs(user(nil)), "Messages[0].Blocks[0]"},
		{"pointer block", msgs(user(&Text{Text: "x"})), "Messages[0].Blocks[0]"},
		{"duplicate tool names", withTools(msgs(hello), Tool{Name: "t"}, Tool{Name: "u"}, Tool{Name: "t"}), "Tools[2].Name"},
		{"empty tool name", withTools(msgs(hello), Tool{}), "Tools[0].Name"},
		{"tool name with a space", withTools(msgs(hello), Tool{Name: "get weather"}), "Tools[0].Name"},
		{"tool name too long", withTools(msgs(hello), Tool{Name: strings.Repeat("a", 65)}), "Tools[0].Name"},
		{"tool schema not an object", withTools(msgs(hello), Tool{Name: "t", InputSchema: json.RawMessage(`[1]`)}), "Tools[0].InputSchema"},
		{"tool schema not JSON", withTools(msgs(hello), Tool{Name: "t", InputSchema: json.RawMessage(`{"type":`)}), "Tools[0].InputSchema"},
		{"forced tool without a name", func() Request {
			r := withTools(msgs(hello), Tool{Name: "t"})
			r.ToolChoice = ToolChoice{Mode: ToolChoiceTool}
			return r
		}(), "ToolChoice.Name"},
		{"forced unknown tool", func() Request { r := withTools(msgs(hello), Tool{Name: "t"}); r.ToolChoice = ForceTool("u"); return r }(), "ToolChoice.Name"},
		{"forced tool without tools", func() Request { r := msgs(hello); r.ToolChoice = ForceTool("t"); return r }(), "ToolChoice.Name"},
		{"required without tools", func() Request { r := msgs(hello); r.ToolChoice = ToolChoice{Mode: ToolChoiceRequired}; return r }(), "ToolChoice"},
		{"name with another mode", func() Request {
			r := withTools(msgs(hello), Tool{Name: "t"})
			r.ToolChoice = ToolChoice{Mode: ToolChoiceRequired, Name: "t"}
			return r
		}(), "ToolChoice.Name"},
		{"unknown mode", func() Request {
			r := withTools(msgs(hello), Tool{Name: "t"})
			r.ToolChoice = ToolChoice{Mode: "any"}
			return r
		}(), "ToolChoice.Mode"},
		{"schema missing", func() Request { r := msgs(hello); r.ResponseFormat = &JSONSchemaFormat{Name: "x"}; return r }(), "ResponseFormat.Schema"},
		{"schema name bad", func() Request {
			r := msgs(hello)
			r.ResponseFormat = &JSONSchemaFormat{Name: "my schema", Schema: json.RawMessage(`{}`)}
			return r
		}(), "ResponseFormat.Name"},
	}
	for _, c := range cases {
		_, err := p.Execute(context.Background(), c.req)
		var inv *recovery.InvalidInputError
		if !errors.As(err, &inv) || recovery.IsRetryable(err) {
			t.Errorf("%s: err = %v, want a *recovery.InvalidInputError", c.name, err)
			continue
		}
		if inv.Field != c.field {
			t.Errorf("%s: field = %q, want %q (%v)", c.name, inv.Field, c.field, err)
		}
	}
	if n := srv.count(); n != 0 {
		t.Fatalf("the server got %d requests; an invalid request must not be sent", n)
	}
}
