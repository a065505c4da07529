package main

import (
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
			srv := fakechat.NewService(t, f.name, toolName, func(i int, body map[string]any) fakechat.Reply {
				switch i {
				case 0:
					if !declaresProgram(f.name, body) {
						t.Errorf("the first request does not offer run_program alone over the weather tools: %v", body["tools"])
					}
					return fakechat.Reply{Text: "One program will do.", Calls: []fakechat.Call{{ID: "toolu_01A", Code: program}}}
				case 1:
					result, called, found := fakechat.ToolResult(f.name, body, "toolu_01A")
					if !called || !found || !strings.Contains(result, "Oslo: 4 C = 39.2 F") || !strings.Contains(result, "tool calls made: 2") {
						t.Errorf("second request: call sent %v, result found %v: %q", called, found, result)
						return fakechat.Reply{Text: "the tool result did not arrive"}
					}
					return fakechat.Reply{Text: "Oslo is at 39.2 °F."}
				}
				t.Errorf("request %d: the run should have ended", i+1)
				return fakechat.Reply{Text: "too many requests"}
			})
			stdout, stderr, code := fakechat.Command(t, binary, EnvModel, f.env(srv.URL), "How warm is Oslo in Fahrenheit?")
			if code != 0 || stdout != "Oslo is at 39.2 °F.\n" {
				t.Fatalf("exit %d, stdout %q; stderr:\n%s", code, stdout, stderr)
			}
			if n := len(srv.Requests()); n != 2 {
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
	srv := fakechat.NewService(t, "openai", toolName, func(i int, body map[string]any) fakechat.Reply {
		if i == 0 {
			return fakechat.Reply{Calls: []fakechat.Call{{ID: "call_1", Code: "try:\n    tools.get_weather(city=\"Atlantis\")\nexcept tools.ToolError as e:\n    print(\"refused:\", e)\nprint(\"known:\", \",\".join(tools.list_cities()))"}}}
		}
		result, _, found := fakechat.ToolResult("openai", body, "call_1")
		if !found || !strings.Contains(result, "refused:") || !strings.Contains(result, "no weather for") ||
			!strings.Contains(result, "known: Cairo,Lisbon,Oslo,Paris,Reykjavik") {
			t.Errorf("result: %q", result)
		}
		return fakechat.Reply{Text: "No data for Atlantis."}
	})
	stdout, stderr, code := fakechat.Command(t, binary, EnvModel, flavors[1].env(srv.URL), "Weather in Atlantis?")
	if code != 0 || stdout != "No data for Atlantis.\n" {
		t.Fatalf("exit %d, stdout %q; stderr:\n%s", code, stdout, stderr)
	}
}

// A model that never stops asking for programs runs into the turn limit: a
// message and a non-zero exit.
func TestTurnLimitExitsNonZero(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			srv := fakechat.NewService(t, f.name, toolName, func(i int, _ map[string]any) fakechat.Reply {
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
