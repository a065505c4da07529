package mcpserver

import (
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/e2b/e2btest"
	"github.com/ttadev/primitives/observability"
)

// TestBackendFromEnvironment runs the server on the E2B backend chosen
// from the environment, against the fake E2B service (which speaks E2B's
// wire format and runs the cells in real local sandboxes).
func TestBackendFromEnvironment(t *testing.T) {
	fake := e2btest.NewServer()
	defer fake.Close()
	t.Setenv("E2B_API_KEY", fake.APIKey())
	t.Setenv("E2B_API_URL", fake.URL())
	t.Setenv("E2B_SANDBOX_URL", fake.URL())

	be, err := OpenBackend(BackendAuto, observability.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	if be.Name != BackendE2B || !strings.Contains(be.Reason, "E2B_API_KEY is set") || !strings.Contains(be.Isolation, "microVM") {
		t.Fatalf("backend %+v", be)
	}
	srv := New(be.Provider, "test", observability.WithLogger(quiet), WithBackendInfo(be.Name, be.Isolation))
	cs := connect(t, srv, nil)
	if ins := cs.InitializeResult().Instructions; !strings.Contains(ins, "backend: e2b") {
		t.Fatalf("instructions: %q", ins)
	}
	run(t, cs, "x = 20")
	if out := run(t, cs, "print('on e2b')\nx + 22"); out.Result != "42" || out.Stdout != "on e2b\n" {
		t.Fatalf("cell on e2b: %+v", out)
	}
	decode[WriteFileOutput](t, call(t, cs, ToolWriteFile, map[string]any{"path": "f.txt", "content": "via e2b"}))
	if r := decode[ReadFileOutput](t, call(t, cs, ToolReadFile, map[string]any{"path": "f.txt"})); r.Content != "via e2b" {
		t.Fatalf("file on e2b: %+v", r)
	}
	cs.Close()
	eventually(t, 10*time.Second, "the E2B sandbox to be killed", func() bool {
		st := fake.Stats()
		return st.Creates == 1 && st.Live == 0
	})

	// A forced backend wins over the environment.
	lb, err := OpenBackend(BackendLocal, observability.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	if lb.Name != BackendLocal || !strings.Contains(lb.Isolation, "seccomp") {
		t.Fatalf("forced local: %+v", lb)
	}
}

func TestBackendChoiceErrors(t *testing.T) {
	t.Setenv("E2B_API_KEY", "")
	if _, err := OpenBackend(BackendE2B); err == nil || !strings.Contains(err.Error(), "E2B_API_KEY") {
		t.Fatalf("e2b without a key: %v", err)
	}
	if _, err := OpenBackend("docker"); err == nil || !strings.Contains(err.Error(), "unknown backend") {
		t.Fatalf("unknown backend: %v", err)
	}
	be, err := OpenBackend("", observability.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	if be.Name != BackendLocal || be.Reason != "E2B_API_KEY is not set" {
		t.Fatalf("auto without a key: %+v", be)
	}
}
