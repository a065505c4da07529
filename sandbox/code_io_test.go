package sandbox_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/sandbox"
)

func TestCodeInputJSONUsesSeconds(t *testing.T) {
	var in sandbox.CodeInput
	if err := json.Unmarshal([]byte(`{"code":"print(1)","timeout":60,"env_vars":{"A":"b"}}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.Code != "print(1)" || in.Timeout != time.Minute || in.Env["A"] != "b" {
		t.Fatalf("decoded %+v", in)
	}
	if err := json.Unmarshal([]byte(`{"code":"x","timeout":1.5}`), &in); err != nil || in.Timeout != 1500*time.Millisecond {
		t.Fatalf("fractional seconds: %v %s", err, in.Timeout)
	}
	if err := json.Unmarshal([]byte(`{"code":"x","timeout":null}`), &in); err != nil || in.Timeout != 0 || in.Env != nil {
		t.Fatalf("null timeout: %v %+v", err, in)
	}
	if err := json.Unmarshal([]byte(`{"code":"x","timeout":1e300}`), &in); err == nil {
		t.Fatal("an out-of-range timeout was accepted")
	}
	if err := json.Unmarshal([]byte(`{"code":"x","timeout":"60"}`), &in); err == nil {
		t.Fatal("a string timeout was accepted")
	}

	b, err := json.Marshal(sandbox.CodeInput{Code: "x", Timeout: 90 * time.Second, Language: "python"})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"code":"x","timeout":90,"language":"python"}` {
		t.Fatalf("encoded %s", b)
	}
	b, _ = json.Marshal(sandbox.CodeInput{Code: "x"})
	if string(b) != `{"code":"x"}` {
		t.Fatalf("encoded %s", b)
	}
}

func TestCodeOutputJSONHasTheSeedsKeys(t *testing.T) {
	b, err := json.Marshal(sandbox.CodeOutput{Success: true, Logs: "120\n", ExecutionTimeMS: 1.5, SandboxID: "s"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"success": true, "logs": "120\n", "error": "", "execution_time_ms": 1.5, "sandbox_id": "s", "truncated": false} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v (in %s)", k, m[k], want, b)
		}
	}
	if strings.Contains(string(b), "traceback") {
		t.Errorf("empty traceback encoded: %s", b)
	}
}
