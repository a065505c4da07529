package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// Every section runs offline on the local sandbox, and prints what the
// page says it should.
func TestSections(t *testing.T) {
	t.Setenv("E2B_API_KEY", "") // the local sandbox, whatever the environment says
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := splitSections(t, out.String())
	want := map[string][]string{
		"basic-config":    {"backend: local, print(6 * 7) -> \"42\\n\"\n"},
		"advanced-config": {"backend: local, print(6 * 7) -> \"42\\n\"\n"},
		"basic-execution": {"true\n\"120\\n\"\n"},
		"error-handling":  {"false\nSyntaxError: unterminated string literal"},
		"install-packages": {
			"false ModuleNotFoundError: No module named 'requests'\n",
			"pip: package installs are off in this sandbox (it has no network). Turn them on with sandbox.WithPipInstall(true)",
			"installs on: true 0\n", "installs on: true hello from an installed package\n",
		},
		"pattern-1":      {"attempt 1 failed: NameError: name 'factorial' is not defined\n", "attempt 2 works: \"120\\n\"\n"},
		"pattern-2":      {"PASS: All tests passed!\n"},
		"pattern-3":      {"hits=1 misses=1\n"},
		"example-1":      {"print(\"Hello, World!\") -> true\n", "print(\"Hello, World!) -> false\n"},
		"example-2":      {"All tests passed!\n"},
		"authentication": {"refused: true "},
		"common-errors": {
			"missing code: invalid input: code: is empty\n",
			"infinite loop: true ", "timed out after 1s\n",
			"E2B failure: true ", "authentication failed (401)",
		},
		"retry": {"local: first try\n", "flaky backend: 2 failures retried, then third try\n"},
		"observability": {
			"metric code_execution_requests_total = 2\n",
			"metric code_execution_success_total = 1\n",
			"metric code_execution_error_total = 1\n",
			"metric code_execution_duration_seconds: 2 observations\n",
		},
	}
	for _, s := range sections {
		text, ok := got[s.name]
		if !ok {
			t.Errorf("section %s printed nothing", s.name)
			continue
		}
		for _, w := range want[s.name] {
			if !strings.Contains(text, w) {
				t.Errorf("section %s lacks %q:\n%s", s.name, w, text)
			}
		}
	}
	if len(want) != len(sections) {
		t.Errorf("%d sections, %d checked", len(sections), len(want))
	}

	// The pattern-3 cache answered the second call: the same number twice.
	if lines := strings.Split(got["pattern-3"], "\n"); len(lines) < 2 || lines[0] != lines[1] {
		t.Errorf("pattern-3: the cached run differs: %q", got["pattern-3"])
	}
	// The installs-off cell said why it failed, in one line, and not with
	// Debian's PEP 668 refusal.
	if m := regexp.MustCompile(`(?m)^pip: (.+)$`).FindStringSubmatch(got["install-packages"]); m == nil || strings.Contains(got["install-packages"], "externally-managed") {
		t.Errorf("install-packages: no clear message from pip:\n%s", got["install-packages"])
	}
	checkObservability(t, got["observability"])
}

// The observability section shows the page's three spans, nested under
// code_execution.execute, and the page's log fields.
func checkObservability(t *testing.T, text string) {
	t.Helper()
	spans := map[string]struct{ id, parent string }{}
	var record map[string]any
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var v struct {
			Name        string
			SpanContext struct{ SpanID string }
			Parent      struct{ SpanID string }
			Msg         string `json:"msg"`
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, line)
		}
		if _, seen := spans[v.Name]; v.Name != "" && !seen { // the first execution's
			spans[v.Name] = struct{ id, parent string }{v.SpanContext.SpanID, v.Parent.SpanID}
		}
		if v.Msg == "code execution" && record == nil {
			_ = json.Unmarshal([]byte(line), &record)
		}
	}
	root, ok := spans["code_execution.execute"]
	if !ok {
		t.Fatalf("no code_execution.execute span:\n%s", text)
	}
	for _, child := range []string{"code_execution.sandbox_init", "code_execution.code_run"} {
		if s, ok := spans[child]; !ok || s.parent != root.id {
			t.Errorf("span %s missing or not under code_execution.execute: %+v", child, spans)
		}
	}
	for _, field := range []string{"primitive", "correlation_id", "success", "execution_time_ms", "code_length"} {
		if _, ok := record[field]; !ok {
			t.Errorf("the execution's log record lacks %q: %v", field, record)
		}
	}
	if record["correlation_id"] != "exec-123" || record["primitive"] != "CodeExecutionPrimitive" {
		t.Errorf("log record %v", record)
	}
}

// splitSections cuts the output at the "== name: title" headings.
func splitSections(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	name := ""
	for _, line := range strings.SplitAfter(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "== "); ok {
			name, _, _ = strings.Cut(rest, ":")
			continue
		}
		if name == "" {
			t.Fatalf("output before the first heading: %q", line)
		}
		got[name] += line
	}
	return got
}

// An unknown section is refused with the list of known ones.
func TestUnknownSection(t *testing.T) {
	err := run(context.Background(), new(bytes.Buffer), "pattern-9")
	if err == nil || !strings.Contains(err.Error(), `no section "pattern-9"`) || !strings.Contains(err.Error(), "pattern-1") {
		t.Fatalf("%v", err)
	}
}
