// Package fakechat serves, on loopback, the chat APIs the examples talk
// to — Anthropic's Messages API and OpenAI's Chat Completions API, tool
// calls included, as JSON or as server-sent events when the request
// streams — and runs a built example against them. It is for the
// examples' tests.
package fakechat

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
	"strings"
	"sync"
	"testing"
	"time"
)

// Reply is what a fake service answers: calls of the service's tool, or a
// final text.
type Reply struct {
	Calls []Call
	Text  string
}

// Call is one call of the tool, whose input is {"code": Code}.
type Call struct{ ID, Code string }

// Service is a loopback chat service of one flavor ("anthropic" or
// "openai") whose replies come from decide, given the request number and
// its body.
type Service struct {
	*httptest.Server
	flavor   string
	toolName string
	mu       sync.Mutex
	bodies   []map[string]any
}

// NewService starts a Service whose tool calls name toolName.
func NewService(t testing.TB, flavor, toolName string, decide func(i int, body map[string]any) Reply) *Service {
	s := &Service{flavor: flavor, toolName: toolName}
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
			s.anthropicStream(w, i, rep)
		case flavor == "anthropic":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(s.anthropicMessage(i, rep))
		case stream:
			s.openAIStream(w, i, body, rep)
		default:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(s.openAICompletion(i, body, rep))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// Requests returns the bodies of the requests so far.
func (s *Service) Requests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...)
}

// anthropicMessage is a Messages API response.
func (s *Service) anthropicMessage(i int, rep Reply) map[string]any {
	content := []any{}
	stop := "end_turn"
	if rep.Text != "" {
		content = append(content, map[string]any{"type": "text", "text": rep.Text})
	}
	for _, c := range rep.Calls {
		content = append(content, map[string]any{"type": "tool_use", "id": c.ID, "name": s.toolName, "input": map[string]any{"code": c.Code}})
		stop = "tool_use"
	}
	return map[string]any{"id": fmt.Sprintf("msg_%d", i+1), "type": "message", "role": "assistant", "model": "claude-test",
		"content": content, "stop_reason": stop, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": 300 + 100*i, "output_tokens": 40}}
}

// anthropicStream sends the same message as server-sent events.
func (s *Service) anthropicStream(w http.ResponseWriter, i int, rep Reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	event := func(typ string, data map[string]any) {
		data["type"] = typ
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, b)
		w.(http.Flusher).Flush()
	}
	msg := s.anthropicMessage(i, rep)
	stop := msg["stop_reason"]
	msg["content"], msg["stop_reason"] = []any{}, nil
	msg["usage"] = map[string]any{"input_tokens": 300 + 100*i, "output_tokens": 1}
	event("message_start", map[string]any{"message": msg})
	idx := 0
	if rep.Text != "" {
		event("content_block_start", map[string]any{"index": idx, "content_block": map[string]any{"type": "text", "text": ""}})
		event("content_block_delta", map[string]any{"index": idx, "delta": map[string]any{"type": "text_delta", "text": rep.Text}})
		event("content_block_stop", map[string]any{"index": idx})
		idx++
	}
	for _, c := range rep.Calls {
		args, _ := json.Marshal(map[string]any{"code": c.Code})
		event("content_block_start", map[string]any{"index": idx, "content_block": map[string]any{"type": "tool_use", "id": c.ID, "name": s.toolName, "input": map[string]any{}}})
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
func (s *Service) openAICompletion(i int, body map[string]any, rep Reply) map[string]any {
	msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
	finish := "stop"
	if rep.Text != "" {
		msg["content"] = rep.Text
	}
	if len(rep.Calls) > 0 {
		var calls []any
		for _, c := range rep.Calls {
			args, _ := json.Marshal(map[string]any{"code": c.Code})
			calls = append(calls, map[string]any{"id": c.ID, "type": "function", "function": map[string]any{"name": s.toolName, "arguments": string(args)}})
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
func (s *Service) openAIStream(w http.ResponseWriter, i int, body map[string]any, rep Reply) {
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
	if rep.Text != "" {
		chunk(delta(map[string]any{"content": rep.Text}, nil), nil)
	}
	finish := "stop"
	for k, c := range rep.Calls {
		args, _ := json.Marshal(map[string]any{"code": c.Code})
		chunk(delta(map[string]any{"tool_calls": []any{map[string]any{"index": k, "id": c.ID, "type": "function",
			"function": map[string]any{"name": s.toolName, "arguments": ""}}}}, nil), nil)
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

// ToolResult finds, in a request, the result sent for call id and the
// assistant's call it answers; it returns the result's text.
func ToolResult(flavor string, body map[string]any, id string) (result string, called bool, found bool) {
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
					result, found = TextOf(b["content"]), true
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
				result, found = TextOf(m["content"]), true
			}
		}
	}
	return result, called, found
}

// TextOf returns the text of a content field: a string, or parts with
// text.
func TextOf(v any) string {
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

// Command runs the built example binary with env (and the environment of the
// test, without anything that could choose a model, envModel included) and returns its
// stdout, stderr and exit code.
func Command(t testing.TB, binary, envModel string, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", envModel, "E2B_API_KEY":
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
