//go:build linux

package local

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// The package, and the backend selection and the MCP server that import
// it, build for macOS and Windows (where New returns
// ErrUnsupportedPlatform). Skipped with -short: a cold cross-build takes
// tens of seconds.
func TestBuildsOffLinux(t *testing.T) {
	if testing.Short() {
		t.Skip("testing.Short: cross-build skipped")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, goos := range []string{"darwin", "windows"} {
		cmd := exec.Command(gobin, "vet", "github.com/ttadev/primitives/sandbox/local/...",
			"github.com/ttadev/primitives/integrations/codeexec", "github.com/ttadev/primitives/cmd/sandbox-mcp")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("GOOS=%s go vet: %v\n%s", goos, err, out)
		}
	}
}
