//go:build linux

package local

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
)

// copyPython copies the default interpreter's binary to dir/bin/python3
// with the given mode.
func copyPython(t *testing.T, dir string, mode os.FileMode) string {
	t.Helper()
	src, err := resolveInterpreter("")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "bin", "python3")
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// publicTempDir returns a new directory under /var/tmp with the given
// mode (t.TempDir's parent is mode 700, and /tmp is hidden inside a
// sandbox by its own /tmp).
func publicTempDir(t *testing.T, mode os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "ttadev-interp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

// An interpreter the sandbox's uid cannot reach is refused by New, with
// the directory in the way named, rather than at the first execution; the
// same copy in a searchable directory works.
func TestNewRefusesInterpreterTheSandboxCannotRun(t *testing.T) {
	needRoot(t, "an unprivileged host's sandboxes run as its own uid, which owns the directory")
	ok := copyPython(t, publicTempDir(t, 0o755), 0o755)
	p := newProvider(t, WithInterpreter(ok))
	s := newSandbox(t, p, sandbox.CreateOptions{})
	if ex := mustSucceed(t, s, "import sys\nprint(sys.executable)"); strings.TrimSpace(ex.StdoutText()) != ok {
		t.Fatalf("the copy in a searchable directory ran as %q, want %q", ex.StdoutText(), ok)
	}

	private := publicTempDir(t, 0o700)
	hidden := copyPython(t, private, 0o755)
	_, err := New(WithInterpreter(hidden), observability.WithLogger(quiet))
	if err == nil || !strings.Contains(err.Error(), "not searchable") || !strings.Contains(err.Error(), private+" ") {
		t.Fatalf("New with an interpreter under a mode-700 directory: %v; want an error naming %s as not searchable", err, private)
	}

	// Through a symbolic link from a searchable place: still refused, as
	// the link is resolved to the binary it names.
	link := filepath.Join(publicTempDir(t, 0o755), "python3")
	if err := os.Symlink(hidden, link); err != nil {
		t.Fatal(err)
	}
	if _, err := New(WithInterpreter(link), observability.WithLogger(quiet)); err == nil || !strings.Contains(err.Error(), "not searchable") {
		t.Fatalf("New with a link to an interpreter under a mode-700 directory: %v", err)
	}

	// Installed under /tmp, which the sandbox mounts its own tmpfs over.
	dir, err := os.MkdirTemp("", "ttadev-interp-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	if _, err := New(WithInterpreter(copyPython(t, dir, 0o755)), observability.WithLogger(quiet)); err == nil || !strings.Contains(err.Error(), "mounts its own /tmp") {
		t.Fatalf("New with an interpreter under /tmp: %v", err)
	}

	noexec := copyPython(t, publicTempDir(t, 0o755), 0o644)
	if _, err := New(WithInterpreter(noexec), observability.WithLogger(quiet)); err == nil || !strings.Contains(err.Error(), "not a regular file executable") {
		t.Fatalf("New with a non-executable interpreter: %v", err)
	}
}
