package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/llm"
)

// syncBuffer is written by the span exporter and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Run the workload, scrape the endpoint as Prometheus would, and check
// TTA.dev's metric names, types and counts, and the spans on stdout.
func TestScrape(t *testing.T) {
	var spans syncBuffer
	tel, err := start(&spans, "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := workload(ctx, tel.Option(), nil); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get(tel.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	text := string(body)
	for _, want := range []string{
		"# TYPE code_execution_requests_total counter\n",
		"# TYPE code_execution_success_total counter\n",
		"# TYPE code_execution_error_total counter\n",
		"# TYPE code_execution_duration_seconds histogram\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	// 3 executions + 2 attempts of the loop; 2 succeeded; 2 Python
	// exceptions and 1 timeout.
	for re, want := range map[string]string{
		`(?m)^code_execution_requests_total\{[^}]*\} (\d+)$`:                        "5",
		`(?m)^code_execution_success_total\{[^}]*\} (\d+)$`:                         "2",
		`(?m)^code_execution_error_total\{error_type="user_code",[^}]*\} (\d+)$`:    "2",
		`(?m)^code_execution_error_total\{error_type="timeout",[^}]*\} (\d+)$`:      "1",
		`(?m)^code_execution_duration_seconds_count\{[^}]*success="true"\} (\d+)$`:  "2",
		`(?m)^code_execution_duration_seconds_count\{[^}]*success="false"\} (\d+)$`: "3",
	} {
		m := regexp.MustCompile(re).FindStringSubmatch(text)
		if m == nil || m[1] != want {
			t.Errorf("%s: got %v, want %s", re, m, want)
		}
	}

	out := spans.String()
	for _, want := range []string{`"Name":"refinement"`, `"Name":"refinement.iteration_1"`, `"Name":"refinement.iteration_2"`,
		`"Name":"code_execution.execute"`, `"Name":"code_execution.code_run"`, `"Value":"observability-demo"`} {
		if !strings.Contains(out, want) {
			t.Errorf("spans lack %s", want)
		}
	}
}

// noModel blanks every variable that selects a chat model.
func noModel(t *testing.T) {
	for _, v := range []string{llm.EnvAnthropicAPIKey, llm.EnvAnthropicBaseURL, llm.EnvOpenAIAPIKey, llm.EnvOpenAIBaseURL, "REFINE_MODEL"} {
		t.Setenv(v, "")
	}
}

// The command as main runs it, offline.
func TestRun(t *testing.T) {
	noModel(t)
	var out syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, &out, "127.0.0.1:0", true, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scrape endpoint: http://127.0.0.1:", "\"Name\": \"refinement\"", "code_execution_requests_total{", "# TYPE code_execution_duration_seconds histogram"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "_bucket{") {
		t.Error("the printed scrape has histogram buckets")
	}
	if !strings.Contains(out.String(), "chat model: none configured (set ANTHROPIC_API_KEY") || strings.Contains(out.String(), "gen_ai_client") {
		t.Error("offline run: wrong model line or gen_ai metrics")
	}
}

// With a model configured (here a loopback server speaking OpenAI's Chat
// Completions API), the scrape shows the GenAI metrics and the spans a
// chat span under the loop's attempt.
func TestRunWithModel(t *testing.T) {
	noModel(t)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1764552000,"model":"test-coder",`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":"`+"```python\\nfor i in range(1, 11):\\n    print(i * i)\\n```"+`"},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":210,"completion_tokens":25,"total_tokens":235}}`)
	}))
	defer srv.Close()
	t.Setenv(llm.EnvOpenAIBaseURL, srv.URL+"/v1")
	t.Setenv("REFINE_MODEL", "test-coder")

	var out syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, &out, "127.0.0.1:0", false, false); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if calls.Load() != 1 {
		t.Fatalf("%d model calls", calls.Load())
	}
	text := out.String()
	for _, want := range []string{
		"chat model: OpenAI-compatible server at " + srv.URL + "/v1, model test-coder\n",
		`"Name":"chat test-coder"`,
		"# TYPE gen_ai_client_token_usage histogram\n",
		"# TYPE gen_ai_client_operation_duration_seconds histogram\n",
		"code_execution_requests_total{",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// 210 input + 25 output tokens, one observation each.
	m := regexp.MustCompile(`(?m)^gen_ai_client_token_usage_sum\{[^}]*gen_ai_token_type="input"[^}]*\} (\d+)$`).FindStringSubmatch(text)
	if m == nil || m[1] != "210" {
		t.Errorf("input token sum %v", m)
	}
}

func TestLoopbackOnly(t *testing.T) {
	if _, err := start(io.Discard, "0.0.0.0:0", false); err == nil || !strings.Contains(err.Error(), "not on loopback") {
		t.Fatalf("err %v", err)
	}
}
