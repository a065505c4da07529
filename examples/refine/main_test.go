package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/integrations/e2b/e2btest"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox/local"
)

// The first program forgets to import re: a NameError with a traceback.
// The second is the fix a model would write after reading it.
const (
	brokenReply = "Here is the function:\n\n```python\ndef parse_duration(s):\n    m = re.fullmatch(r'(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?', s)\n" +
		"    if not s or m is None:\n        raise ValueError(s)\n    h, mi, se = (int(g) if g else 0 for g in m.groups())\n    return h * 3600 + mi * 60 + se\n```\n"
	fixedReply = "The module re was not imported. Corrected program:\n\n```python\nimport re\n\ndef parse_duration(s):\n    m = re.fullmatch(r'(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?', s)\n" +
		"    if not s or m is None:\n        raise ValueError(s)\n    h, mi, se = (int(g) if g else 0 for g in m.groups())\n    return h * 3600 + mi * 60 + se\n```\n"
)

// chatServer speaks OpenAI's Chat Completions API on loopback: it answers
// with replies in order and records the request bodies.
type chatServer struct {
	*httptest.Server
	mu      sync.Mutex
	replies []string
	bodies  []map[string]any
}

func newChatServer(t *testing.T, replies ...string) *chatServer {
	s := &chatServer{replies: replies}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"error":{"message":"bad json","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		i := len(s.bodies)
		s.bodies = append(s.bodies, body)
		reply := s.replies[min(i, len(s.replies)-1)]
		s.mu.Unlock()
		id, model := fmt.Sprintf("chatcmpl-%d", i+1), body["model"]
		usage := map[string]any{"prompt_tokens": 400 + 300*i, "completion_tokens": 120, "total_tokens": 520 + 300*i}
		if body["stream"] != true {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{
				"id": id, "object": "chat.completion", "created": 1764552000, "model": model, "system_fingerprint": "fp_test",
				"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
					"message": map[string]any{"role": "assistant", "content": reply}}},
				"usage": usage,
			})
			return
		}
		// Server-sent events, as the API streams: a role chunk, the text
		// in pieces, the finish reason, the usage when asked for, [DONE].
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := func(choices []any, usage any) {
			b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": 1764552000,
				"model": model, "system_fingerprint": "fp_test", "choices": choices, "usage": usage})
			fmt.Fprintf(w, "data: %s\n\n", b)
			w.(http.Flusher).Flush()
		}
		delta := func(d map[string]any, finish any) []any {
			return []any{map[string]any{"index": 0, "delta": d, "logprobs": nil, "finish_reason": finish}}
		}
		chunk(delta(map[string]any{"role": "assistant", "content": ""}, nil), nil)
		for len(reply) > 0 {
			n := min(len(reply), 40)
			chunk(delta(map[string]any{"content": reply[:n]}, nil), nil)
			reply = reply[n:]
		}
		chunk(delta(map[string]any{}, "stop"), nil)
		if so, _ := body["stream_options"].(map[string]any); so["include_usage"] == true {
			chunk([]any{}, usage)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *chatServer) requests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...)
}

// configure points the example at srv and blanks every other variable
// that could select a model or a code backend.
func configure(t *testing.T, srv *chatServer) {
	for _, v := range []string{llm.EnvAnthropicAPIKey, llm.EnvAnthropicBaseURL, llm.EnvOpenAIAPIKey, e2b.EnvAPIKey, e2b.EnvAPIURL, e2b.EnvSandboxURL} {
		t.Setenv(v, "")
	}
	t.Setenv(llm.EnvOpenAIBaseURL, srv.URL+"/v1")
	t.Setenv(EnvModel, "test-coder")
}

func checkConverged(t *testing.T, srv *chatServer, out string) {
	t.Helper()
	for _, want := range []string{
		"model: OpenAI-compatible server at " + srv.URL + "/v1, model test-coder\n",
		"\n-- attempt 1: the model writes\n\nHere is the function:\n\n```python\ndef parse_duration(s):\n",
		"\n\n-- attempt 1 failed: NameError: name 're' is not defined\n",
		"\n-- attempt 2: the model writes\n\nThe module re was not imported. Corrected program:\n",
		"\n\n-- attempt 2 passed; the program and its tests printed:\n\n    all tests passed\n\n",
		"attempts: 2, tokens: 1100 in, 240 out",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests; want 2", len(reqs))
	}
	if reqs[0]["model"] != "test-coder" || reqs[0]["stream"] != true {
		t.Fatalf("model %v, stream %v", reqs[0]["model"], reqs[0]["stream"])
	}
	// The second prompt carries the first attempt's code as the model's
	// message and its traceback as the user's answer.
	msgs, _ := reqs[1]["messages"].([]any)
	var roles []string
	var last string
	for _, m := range msgs {
		m := m.(map[string]any)
		roles = append(roles, m["role"].(string))
		last, _ = m["content"].(string)
	}
	if strings.Join(roles, ",") != "system,user,assistant,user" {
		t.Fatalf("roles %v", roles)
	}
	for _, want := range []string{"Traceback (most recent call last)", "in parse_duration", "NameError: name 're' is not defined"} {
		if !strings.Contains(last, want) {
			t.Errorf("second prompt lacks %q:\n%s", want, last)
		}
	}
	if first := msgs[1].(map[string]any)["content"].(string); !strings.Contains(first, "parse_duration('1h30m') == 5400") {
		t.Errorf("first prompt lacks the tests:\n%s", first)
	}
}

func TestConvergesOnTheLocalSandbox(t *testing.T) {
	srv := newChatServer(t, brokenReply, fixedReply)
	configure(t, srv)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, &out, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "code runs on: local\n") {
		t.Fatalf("backend:\n%s", out.String())
	}
	t.Logf("output:\n%s", out.String())
	checkConverged(t, srv, out.String())
}

// The same run with the code on E2B (the fake E2B server, running Python
// in the local sandbox behind E2B's wire protocol).
func TestConvergesOnE2B(t *testing.T) {
	p, err := local.New(observability.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	e2bSrv := e2btest.NewServer(e2btest.WithProvider(p))
	defer e2bSrv.Close()
	srv := newChatServer(t, brokenReply, fixedReply)
	configure(t, srv)
	t.Setenv(e2b.EnvAPIKey, e2bSrv.APIKey())
	t.Setenv(e2b.EnvAPIURL, e2bSrv.URL())
	t.Setenv(e2b.EnvSandboxURL, e2bSrv.URL())

	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, &out, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "code runs on: e2b\n") {
		t.Fatalf("backend:\n%s", out.String())
	}
	checkConverged(t, srv, out.String())
	if st := e2bSrv.Stats(); st.Creates < 1 || st.Kills != st.Creates {
		t.Fatalf("E2B sandboxes: %+v", st)
	}
}

// With nothing configured the command exits with status 2 and names what
// to set. The test runs the real main in a child process.
func TestNothingConfigured(t *testing.T) {
	if os.Getenv("REFINE_EXAMPLE_MAIN") == "1" {
		main()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestNothingConfigured$")
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case llm.EnvAnthropicAPIKey, llm.EnvOpenAIAPIKey, llm.EnvOpenAIBaseURL, EnvModel:
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, "REFINE_EXAMPLE_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr, cmd.Stdout = &stderr, io.Discard
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"no chat model configured", "ANTHROPIC_API_KEY=<key>", "OPENAI_API_KEY=<key>", "OPENAI_BASE_URL=<url> REFINE_MODEL=<model>"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("message lacks %q:\n%s", want, stderr.String())
		}
	}
}

func TestBaseURLWithoutModel(t *testing.T) {
	t.Setenv(llm.EnvAnthropicAPIKey, "")
	t.Setenv(llm.EnvOpenAIBaseURL, "http://127.0.0.1:11434/v1")
	t.Setenv(EnvModel, "")
	err := run(context.Background(), io.Discard, slog.New(slog.DiscardHandler))
	var cfg *configError
	if !errors.As(err, &cfg) || !strings.Contains(err.Error(), "REFINE_MODEL is not") {
		t.Fatalf("err %v", err)
	}
}
