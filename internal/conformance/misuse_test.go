package conformance_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// An option that does not apply to a constructor does not compile: each
// program in testdata/misuse (but ok.go.txt, the control) must be refused
// by the compiler with the message given here.
func TestMisappliedOptionsDoNotCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("testing.Short: builds programs with the go command")
	}
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	cases := map[string]string{
		"ok.go.txt":                        "",
		"sequential_maxconcurrency.go.txt": "cannot use primitives.MaxConcurrency(2)",
		"retry_ttl.go.txt":                 "cannot use performance.TTL(time.Hour)",
		"cache_maxretries.go.txt":          "cannot use recovery.MaxRetries(3)",
		"cacheby_wrong_key.go.txt":         "does not match inferred type func(string) string",
		"newclient_pipinstall.go.txt":      "cannot use e2b.WithPipInstall(true)",
		"pool_timeout.go.txt":              "cannot use sandbox.WithTimeout(time.Second)",
		"timeout_failureif.go.txt":         "cannot use recovery.FailureIf(",
		"agent_maxattempts.go.txt":         "cannot use refine.MaxAttempts(3)",
	}
	for file, want := range cases {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join("testdata", "misuse", file))
			if err != nil {
				t.Fatal(err)
			}
			// Inside the module, so that its packages resolve; the go
			// command ignores testdata in patterns such as ./... .
			dir, err := os.MkdirTemp("testdata", "build-")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			if err := os.WriteFile(filepath.Join(dir, "misuse.go"), src, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(goCmd, "build", "-o", os.DevNull, "./"+dir).CombinedOutput()
			if want == "" {
				if err != nil {
					t.Fatalf("the control does not compile: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatal("compiled; a misapplied option must not")
			}
			if msg := string(out); !strings.Contains(msg, want) {
				t.Fatalf("refused, but not for the option:\n%s", msg)
			}
		})
	}
}
