package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The command's contract, checked from outside: the program is built and
// run against loopback servers that speak Anthropic's Messages API and
// OpenAI's Chat Completions API, tool calls included, as those services
// send them (JSON, or server-sent events when the request streams).

var binary string

// toolName is the code-mode tool the model calls.
const toolName = "run_program"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "codemode-example-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "codemode")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the example: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// reply is what a fake service answers: tool calls of run_program, or a
// final text.
type reply struct {
	calls []runCall
	text  string
}

type runCall struct{ id, code string }

// service is a loopback chat service of one flavor ("anthropic" or
// "openai") whose replies come from decide, given the request number and
// its body.
type service struct {
	*httptest.Server
	flavor string
	mu     sync.Mutex
	bodies []map[string]any
}

func newService(t *testing.T, flavor string, decide func(i int, body map[string]any) reply) *service {
	s := &service{flavor: flavor}
	path := "/v1/messages"
	if flavor == "openai" {
		path = "/v1/chat/completions"
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != path {
			t.Errorf("%s %s; want POST %s", r.Method, r.URL.Path, path)
			http.Error(w, `{"type":"error","error":{"type":"not_found_error","message":"not found"}}`, http.StatusNotFound)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"type":"error","error":{"type":"invalid_request_error","message":"bad json"}}`, http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		i := len(s.bodies)
		s.bodies = append(s.bodies, body)
		s.mu.Unlock()
		rep := decide(i, body)
		stream := body["stream"] == true
		switch {
		case flavor == "anthropic" && stream:
			anthropicStream(w, i, rep)
		case flavor == "anthropic":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(anthropicMessage(i, rep))
		case stream:
			openAIStream(w, i, body, rep)
		default:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(openAICompletion(i, body, rep))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *service) requests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...)
}

// anthropicMessage is a Messages API response.
func anthropicMessage(i int, rep reply) map[string]any {
	content := []any{}
	stop := "end_turn"
	if rep.text != "" {
		content = append(content, map[string]any{"type": "text", "text": rep.text})
	}
	for _, c := range rep.calls {
		content = append(content, map[string]any{"type": "tool_use", "id": c.id, "name": toolName, "input": map[string]any{"code": c.code}})
		stop = "tool_use"
	}
	return map[string]any{"id": fmt.Sprintf("msg_%d", i+1), "type": "message", "role": "assistant", "model": "claude-test",
		"content": content, "stop_reason": stop, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": 300 + 100*i, "output_tokens": 40}}
}

// anthropicStream sends the same message as server-sent events.
func anthropicStream(w http.ResponseWriter, i int, rep reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	event := func(typ string, data map[string]any) {
		data["type"] = typ
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, b)
		w.(http.Flusher).Flush()
	}
	msg := anthropicMessage(i, rep)
	stop := msg["stop_reason"]
	msg["content"], msg["stop_reason"] = []any{}, nil
	msg["usage"] = map[string]any{"input_tokens": 300 + 100*i, "output_tokens": 1}
	event("message_start", map[string]any{"message": msg})
	idx := 0
	if rep.text != "" {
		event("content_block_start", map[string]any{"index": idx, "content_block": map[string]any{"type": "text", "text": ""}})
		event("content_block_delta", map[string]any{"index": idx, "delta": map[string]any{"type": "text_delta", "text": rep.text}})
		event("content_block_stop", map[string]any{"index": idx})
		idx++
	}
	for _, c := range rep.calls {
		args, _ := json.Marshal(map[string]any{"code": c.code})
		event("content_block_start", map[string]any{"index": idx, "content_block": map[string]any{"type": "tool_use", "id": c.id, "name": toolName, "input": map[string]any{}}})
		half := len(args) / 2
		event("content_block_delta", map[string]any{"index": idx, "delta": map[string]any{"type": "input_json_delta", "partial_json": string(args[:half])}})
		event("content_block_delta", map[string]any{"index": idx, "delta": map[string]any{"type": "input_json_delta", "partial_json": string(args[half:])}})
		event("content_block_stop", map[string]any{"index": idx})
		idx++
	}
	event("message_delta", map[string]any{"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil}, "usage": map[string]any{"output_tokens": 40}})
	event("message_stop", map[string]any{})
}

// openAICompletion is a Chat Completions response.
func openAICompletion(i int, body map[string]any, rep reply) map[string]any {
	msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
	finish := "stop"
	if rep.text != "" {
		msg["content"] = rep.text
	}
	if len(rep.calls) > 0 {
		var calls []any
		for _, c := range rep.calls {
			args, _ := json.Marshal(map[string]any{"code": c.code})
			calls = append(calls, map[string]any{"id": c.id, "type": "function", "function": map[string]any{"name": toolName, "arguments": string(args)}})
		}
		msg["tool_calls"] = calls
		finish = "tool_calls"
	}
	return map[string]any{"id": fmt.Sprintf("chatcmpl-%d", i+1), "object": "chat.completion", "created": 1764552000, "model": body["model"],
		"system_fingerprint": "fp_test",
		"choices":            []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
		"usage":              map[string]any{"prompt_tokens": 300 + 100*i, "completion_tokens": 40, "total_tokens": 340 + 100*i}}
}

// openAIStream sends the same completion as chunks.
func openAIStream(w http.ResponseWriter, i int, body map[string]any, rep reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	id := fmt.Sprintf("chatcmpl-%d", i+1)
	chunk := func(choices []any, usage any) {
		b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": 1764552000,
			"model": body["model"], "system_fingerprint": "fp_test", "choices": choices, "usage": usage})
		fmt.Fprintf(w, "data: %s\n\n", b)
		w.(http.Flusher).Flush()
	}
	delta := func(d map[string]any, finish any) []any {
		return []any{map[string]any{"index": 0, "delta": d, "logprobs": nil, "finish_reason": finish}}
	}
	chunk(delta(map[string]any{"role": "assistant", "content": ""}, nil), nil)
	if rep.text != "" {
		chunk(delta(map[string]any{"content": rep.text}, nil), nil)
	}
	finish := "stop"
	for k, c := range rep.calls {
		args, _ := json.Marshal(map[string]any{"code": c.code})
		chunk(delta(map[string]any{"tool_calls": []any{map[string]any{"index": k, "id": c.id, "type": "function",
			"function": map[string]any{"name": toolName, "arguments": ""}}}}, nil), nil)
		half := len(args) / 2
		for _, part := range []string{string(args[:half]), string(args[half:])} {
			chunk(delta(map[string]any{"tool_calls": []any{map[string]any{"index": k, "function": map[string]any{"arguments": part}}}}, nil), nil)
		}
		finish = "tool_calls"
	}
	chunk(delta(map[string]any{}, finish), nil)
	if so, _ := body["stream_options"].(map[string]any); so["include_usage"] == true {
		chunk([]any{}, map[string]any{"prompt_tokens": 300 + 100*i, "completion_tokens": 40, "total_tokens": 340 + 100*i})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// declaresProgram reports whether a request offers run_program, alone,
// with its {"code"} schema and a description naming each wrapped tool, in
// the flavor's shape.
func declaresProgram(flavor string, body map[string]any) bool {
	tools, _ := body["tools"].([]any)
	if len(tools) != 1 {
		return false
	}
	m, _ := tools[0].(map[string]any)
	var name, desc string
	var schema map[string]any
	if flavor == "anthropic" {
		name, _ = m["name"].(string)
		desc, _ = m["description"].(string)
		schema, _ = m["input_schema"].(map[string]any)
	} else {
		fn, _ := m["function"].(map[string]any)
		name, _ = fn["name"].(string)
		desc, _ = fn["description"].(string)
		schema, _ = fn["parameters"].(map[string]any)
	}
	props, _ := schema["properties"].(map[string]any)
	for _, tool := range []string{"list_cities", "get_weather", "to_fahrenheit"} {
		if !strings.Contains(desc, tool) {
			return false
		}
	}
	return name == toolName && props["code"] != nil
}

// toolResult finds, in a request, the result sent for call id and the
// assistant's call it answers; it returns the result's text.
func toolResult(flavor string, body map[string]any, id string) (result string, called bool, found bool) {
	msgs, _ := body["messages"].([]any)
	for _, m := range msgs {
		m, _ := m.(map[string]any)
		switch flavor {
		case "anthropic":
			blocks, _ := m["content"].([]any)
			for _, b := range blocks {
				b, _ := b.(map[string]any)
				switch {
				case m["role"] == "assistant" && b["type"] == "tool_use" && b["id"] == id:
					called = true
				case m["role"] == "user" && b["type"] == "tool_result" && b["tool_use_id"] == id:
					result, found = textOf(b["content"]), true
				}
			}
		case "openai":
			if m["role"] == "assistant" {
				calls, _ := m["tool_calls"].([]any)
				for _, c := range calls {
					if c, _ := c.(map[string]any); c["id"] == id {
						called = true
					}
				}
			}
			if m["role"] == "tool" && m["tool_call_id"] == id {
				result, found = textOf(m["content"]), true
			}
		}
	}
	return result, called, found
}

// textOf returns the text of a content field: a string, or parts with
// text.
func textOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var s strings.Builder
		for _, p := range v {
			if p, _ := p.(map[string]any); p["type"] == "text" {
				t, _ := p["text"].(string)
				s.WriteString(t)
			}
		}
		return s.String()
	}
	return ""
}

// command runs the built example with env (and the environment of the
// test, without anything that could choose a model) and returns its
// stdout, stderr and exit code.
func command(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", EnvModel, "E2B_API_KEY":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running the example: %v", err)
	}
	return stdout.String(), stderr.String(), code
}

// flavors configures the example for each service.
var flavors = []struct {
	name string
	env  func(url string) map[string]string
}{
	{"anthropic", func(url string) map[string]string {
		return map[string]string{"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": url}
	}},
	{"openai", func(url string) map[string]string {
		return map[string]string{"OPENAI_BASE_URL": url + "/v1", EnvModel: "test-model"}
	}},
}

// program chains two tools in one run: the temperature of Oslo comes from
// get_weather and its conversion from to_fahrenheit, both answered on the
// host (the program has no other way to know 4 °C, nor that it is 39.2 °F).
const program = `w = tools.get_weather(city="Oslo")
f = tools.to_fahrenheit(celsius=w["celsius"])
print(f"{w['city']}: {w['celsius']} C = {f['fahrenheit']} F")`

// The model asks for run_program, the program runs in the local sandbox
// and calls two tools on the host, the result comes back with the call's
// ID, the model answers, and the answer is printed on stdout.
func TestProgramCallsToolsThenPrintsTheAnswer(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			srv := newService(t, f.name, func(i int, body map[string]any) reply {
				switch i {
				case 0:
					if !declaresProgram(f.name, body) {
						t.Errorf("the first request does not offer run_program alone over the weather tools: %v", body["tools"])
					}
					return reply{text: "One program will do.", calls: []runCall{{id: "toolu_01A", code: program}}}
				case 1:
					result, called, found := toolResult(f.name, body, "toolu_01A")
					if !called || !found || !strings.Contains(result, "Oslo: 4 C = 39.2 F") || !strings.Contains(result, "tool calls made: 2") {
						t.Errorf("second request: call sent %v, result found %v: %q", called, found, result)
						return reply{text: "the tool result did not arrive"}
					}
					return reply{text: "Oslo is at 39.2 °F."}
				}
				t.Errorf("request %d: the run should have ended", i+1)
				return reply{text: "too many requests"}
			})
			stdout, stderr, code := command(t, f.env(srv.URL), "How warm is Oslo in Fahrenheit?")
			if code != 0 || stdout != "Oslo is at 39.2 °F.\n" {
				t.Fatalf("exit %d, stdout %q; stderr:\n%s", code, stdout, stderr)
			}
			if n := len(srv.requests()); n != 2 {
				t.Fatalf("%d requests; want 2", n)
			}
			for _, want := range []string{`get_weather(city="Oslo")`, "to_fahrenheit(celsius=4)", "turns: 2, tool calls: 1 (0 failed)"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if strings.Contains(stderr, "sk-ant-test") {
				t.Error("the API key appears on stderr")
			}
		})
	}
}

// A tool's own failure reaches the program as tools.ToolError, which the
// program catches and goes on to list the cities; the run goes on.
func TestToolErrorReachesTheProgram(t *testing.T) {
	srv := newService(t, "openai", func(i int, body map[string]any) reply {
		if i == 0 {
			return reply{calls: []runCall{{id: "call_1", code: "try:\n    tools.get_weather(city=\"Atlantis\")\nexcept tools.ToolError as e:\n    print(\"refused:\", e)\nprint(\"known:\", \",\".join(tools.list_cities()))"}}}
		}
		result, _, found := toolResult("openai", body, "call_1")
		if !found || !strings.Contains(result, "refused:") || !strings.Contains(result, "no weather for") ||
			!strings.Contains(result, "known: Cairo,Lisbon,Oslo,Paris,Reykjavik") {
			t.Errorf("result: %q", result)
		}
		return reply{text: "No data for Atlantis."}
	})
	stdout, stderr, code := command(t, flavors[1].env(srv.URL), "Weather in Atlantis?")
	if code != 0 || stdout != "No data for Atlantis.\n" {
		t.Fatalf("exit %d, stdout %q; stderr:\n%s", code, stdout, stderr)
	}
}

// A model that never stops asking for programs runs into the turn limit: a
// message and a non-zero exit.
func TestTurnLimitExitsNonZero(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			srv := newService(t, f.name, func(i int, _ map[string]any) reply {
				return reply{calls: []runCall{{id: fmt.Sprintf("call_%d", i), code: fmt.Sprintf("print(%d)", i)}}}
			})
			stdout, stderr, code := command(t, f.env(srv.URL), "Count forever.")
			if code == 0 || stdout != "" || !strings.Contains(stderr, "turn limit reached") {
				t.Fatalf("exit %d, stdout %q; stderr:\n%s", code, stdout, stderr)
			}
			if n := len(srv.requests()); n != maxTurns {
				t.Fatalf("%d requests; want the turn limit, %d", n, maxTurns)
			}
		})
	}
}

// With no model configured, the program exits 2 and says what to set.
func TestNoModelExitsTwo(t *testing.T) {
	stdout, stderr, code := command(t, nil, "anything")
	if code != 2 || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	for _, v := range []string{"ANTHROPIC_API_KEY", "OPENAI_BASE_URL", EnvModel, "OPENAI_API_KEY"} {
		if !strings.Contains(stderr, v) {
			t.Errorf("stderr does not name %s:\n%s", v, stderr)
		}
	}
	// A base URL without a model is incomplete too.
	if _, stderr, code := command(t, map[string]string{"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}, "x"); code != 2 || !strings.Contains(stderr, EnvModel) {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
}
