package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
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
	if err := workload(ctx, tel.Option()); err != nil {
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

// The command as main runs it.
func TestRun(t *testing.T) {
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
}

func TestLoopbackOnly(t *testing.T) {
	if _, err := start(io.Discard, "0.0.0.0:0", false); err == nil || !strings.Contains(err.Error(), "not on loopback") {
		t.Fatalf("err %v", err)
	}
}
