package main

import (
	"encoding/json"
	"fmt"
	"github.com/ttadev/primitives/examples/internal/fakechat"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The command's contract, checked from outside: the program is built and
// run against loopback servers that speak Anthropic's Messages API and
// OpenAI's Chat Completions API, tool calls included, as those services
// send them (JSON, or server-sent events when the request streams).

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agent-example-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "agent")
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

// declaresRunCode reports whether a request offers the run_code tool with
// its schema, in the flavor's shape.
func declaresRunCode(flavor string, body map[string]any) bool {
	tools, _ := body["tools"].([]any)
	for _, tl := range tools {
		m, _ := tl.(map[string]any)
		var name string
		var schema map[string]any
		if flavor == "anthropic" {
			name, _ = m["name"].(string)
			schema, _ = m["input_schema"].(map[string]any)
		} else {
			fn, _ := m["function"].(map[string]any)
			name, _ = fn["name"].(string)
			schema, _ = fn["parameters"].(map[string]any)
		}
		props, _ := schema["properties"].(map[string]any)
		if name == "run_code" && props["code"] != nil {
			return true
		}
	}
	return false
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

// The model asks for run_code, the program runs it in the local sandbox
// and sends back the result with the call's ID, the model answers, and
// the answer is printed on stdout.
func TestRunsToolsThenPrintsTheAnswer(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			srv := fakechat.NewService(t, f.name, "run_code", func(i int, body map[string]any) fakechat.Reply {
				switch i {
				case 0:
					if !declaresRunCode(f.name, body) {
						t.Errorf("the first request does not offer run_code: %v", body["tools"])
					}
					return fakechat.Reply{Text: "Let me compute it.", Calls: []fakechat.Call{{ID: "toolu_01A", Code: "x = 6 * 7\nprint(x)"}}}
				case 1:
					result, called, found := fakechat.ToolResult(f.name, body, "toolu_01A")
					var rep struct {
						Success bool   `json:"success"`
						Stdout  string `json:"stdout"`
					}
					if !called || !found || json.Unmarshal([]byte(result), &rep) != nil || !rep.Success || rep.Stdout != "42\n" {
						t.Errorf("second request: call sent %v, result found %v: %q", called, found, result)
						return fakechat.Reply{Text: "the tool result did not arrive"}
					}
					return fakechat.Reply{Text: "The answer is 42."}
				}
				t.Errorf("request %d: the run should have ended", i+1)
				return fakechat.Reply{Text: "too many requests"}
			})
			stdout, stderr, code := fakechat.Command(t, binary, EnvModel, f.env(srv.URL), "What is 6 times 7? Compute it.")
			if code != 0 || stdout != "The answer is 42.\n" {
				t.Fatalf("exit %d, stdout %q; stderr:\n%s", code, stdout, stderr)
			}
			if n := len(srv.Requests()); n != 2 {
				t.Fatalf("%d requests; want 2", n)
			}
			if !strings.Contains(stderr, "turns: 2, tool calls: 1 (0 failed)") {
				t.Errorf("stderr:\n%s", stderr)
			}
			if strings.Contains(stderr, "sk-ant-test") {
				t.Error("the API key appears on stderr")
			}
		})
	}
}

// A model that never stops asking for tools runs into the turn limit: a
// message and a non-zero exit.
func TestTurnLimitExitsNonZero(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			srv := fakechat.NewService(t, f.name, "run_code", func(i int, _ map[string]any) fakechat.Reply {
				return fakechat.Reply{Calls: []fakechat.Call{{ID: fmt.Sprintf("call_%d", i), Code: fmt.Sprintf("print(%d)", i)}}}
			})
			stdout, stderr, code := fakechat.Command(t, binary, EnvModel, f.env(srv.URL), "Count forever.")
			if code == 0 || stdout != "" || !strings.Contains(stderr, "turn limit reached") {
				t.Fatalf("exit %d, stdout %q; stderr:\n%s", code, stdout, stderr)
			}
			if n := len(srv.Requests()); n != maxTurns {
				t.Fatalf("%d requests; want the turn limit, %d", n, maxTurns)
			}
		})
	}
}

// With no model configured, the program exits 2 and says what to set.
func TestNoModelExitsTwo(t *testing.T) {
	stdout, stderr, code := fakechat.Command(t, binary, EnvModel, nil, "anything")
	if code != 2 || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	for _, v := range []string{"ANTHROPIC_API_KEY", "OPENAI_BASE_URL", EnvModel, "OPENAI_API_KEY"} {
		if !strings.Contains(stderr, v) {
			t.Errorf("stderr does not name %s:\n%s", v, stderr)
		}
	}
	// A base URL without a model is incomplete too.
	if _, stderr, code := fakechat.Command(t, binary, EnvModel, map[string]string{"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}, "x"); code != 2 || !strings.Contains(stderr, EnvModel) {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
}
