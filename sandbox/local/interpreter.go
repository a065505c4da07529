//go:build linux

package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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

// checkInterpreterUsable verifies that a process running as the host
// uid and gid given (the sandbox's) may execute exe: every directory on
// its path searchable and the file executable. The sandbox holds no
// capability over host files, so the owner, group or other bits decide,
// as the kernel will when the sandbox starts the interpreter.
//
// With a mount namespace (mounted), an interpreter installed under one
// of the sandbox's own mount points (/tmp, /work, /dev, /proc) is hidden
// by them inside the sandbox, and is refused too.
func checkInterpreterUsable(exe string, uid, gid int, mounted bool) error {
	if mounted {
		for _, bind := range interpreterBinds(exe) {
			for _, m := range []string{"/tmp", "/work", "/dev", "/proc"} {
				if bind == m || strings.HasPrefix(bind, m+"/") {
					return fmt.Errorf("local: interpreter %s cannot be used by the sandbox: its installation %s lies under %s, which the sandbox mounts its own %s over; install it elsewhere (e.g. under /opt or /usr/local) and give it with local.WithInterpreter",
						exe, bind, m, m)
				}
			}
		}
	}
	if uid == os.Geteuid() && gid == os.Getegid() && uid != 0 {
		if err := unix.Faccessat(unix.AT_FDCWD, exe, unix.X_OK, unix.AT_EACCESS); err != nil {
			return fmt.Errorf("local: interpreter %s cannot be executed: %w", exe, err)
		}
		return nil
	}
	allowed := func(st *syscall.Stat_t, bit uint32) bool {
		switch {
		case int(st.Uid) == uid:
			return st.Mode&(bit<<6) != 0
		case int(st.Gid) == gid:
			return st.Mode&(bit<<3) != 0
		}
		return st.Mode&bit != 0
	}
	for dir := filepath.Dir(exe); ; dir = filepath.Dir(dir) {
		var st syscall.Stat_t
		if err := syscall.Stat(dir, &st); err != nil {
			return fmt.Errorf("local: interpreter %s: %w", exe, err)
		}
		if !allowed(&st, 1) {
			return fmt.Errorf("local: interpreter %s cannot be used by the sandbox: directory %s (mode %v, owner %d) is not searchable by the sandbox's uid %d; make it searchable by other users (chmod o+x) or choose an interpreter elsewhere with local.WithInterpreter",
				exe, dir, os.FileMode(st.Mode&0o777), st.Uid, uid)
		}
		if dir == "/" || dir == "." {
			break
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(exe, &st); err != nil {
		return fmt.Errorf("local: interpreter %s: %w", exe, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || !allowed(&st, 1) {
		return fmt.Errorf("local: interpreter %s cannot be used by the sandbox: it is not a regular file executable by the sandbox's uid %d (mode %v, owner %d)",
			exe, uid, os.FileMode(st.Mode&0o777), st.Uid)
	}
	return nil
}
