package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// resolveInterpreter returns the real interpreter binary for path (or the
// default choice when path is ""): symbolic links resolved, and a script
// shim (pyenv, asdf) replaced by the binary it runs.
func resolveInterpreter(path string) (string, error) {
	if path == "" {
		for _, p := range []string{"/usr/bin/python3", "/usr/local/bin/python3"} {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				path = p
				break
			}
		}
	}
	if path == "" {
		p, err := exec.LookPath("python3")
		if err != nil {
			return "", fmt.Errorf("local: no python3 interpreter found: %w", err)
		}
		path = p
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("local: interpreter %s: %w", path, err)
	}
	if !isScript(real) {
		return filepath.Abs(real)
	}
	// A shim: ask it which binary it selects.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, real, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", fmt.Errorf("local: interpreter %s is a script and did not run: %w", path, err)
	}
	exe := strings.TrimSpace(string(out))
	if exe == "" {
		return "", fmt.Errorf("local: interpreter %s did not report its executable", path)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", err
	}
	if isScript(exe) {
		return "", fmt.Errorf("local: interpreter %s resolves to the script %s", path, exe)
	}
	return exe, nil
}

func isScript(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 2)
	n, _ := f.Read(head)
	return bytes.Equal(head[:n], []byte("#!"))
}

// interpreterBinds returns the host directories to bind read-only so the
// interpreter at exe works inside the sandbox: none for one under /usr,
// else its installation prefix (the parent of its bin directory).
func interpreterBinds(exe string) []string {
	for _, sys := range []string{"/usr/", "/bin/", "/lib/", "/lib64/", "/sbin/"} {
		if strings.HasPrefix(exe, sys) {
			return nil
		}
	}
	return []string{filepath.Dir(filepath.Dir(exe))}
}
