//go:build linux

package local

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ttadev/primitives/sandbox/local/internal/initproc"
)

// sitePackagesDir is, under the sandbox's home (/work), where pip
// installs when installs are on: the sandbox's own site, first on
// sys.path.
const sitePackagesDir = ".site-packages"

// pipOffDir is where a sandbox without the network sees its pip shim.
const pipOffDir = "/sandbox/pip-off"

// pipEnvironment adds to env what makes pip work (installs) or fail
// fast with PipDisabledMessage (else) in a sandbox whose home is home and
// whose host directory is d, and returns the directories to bind.
//
// With installs on, pip installs into home/.site-packages (PIP_TARGET: a
// target directory, so Debian's PEP 668 guard of the system Python does
// not apply and the host's Python is never written), which is on
// sys.path (PYTHONPATH, before the system's packages) and whose bin on
// PATH. With installs off, a shim (a pip package first on sys.path, and
// pip scripts first on PATH) prints the message.
func pipEnvironment(env map[string]string, installs bool, home string, d dirs, mounted bool, interpreter string) ([]initproc.Bind, error) {
	if installs {
		site := home + "/" + sitePackagesDir
		env["PIP_TARGET"] = site
		env["PYTHONPATH"] = site
		env["PATH"] = site + "/bin:" + env["PATH"]
		env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
		env["PIP_ROOT_USER_ACTION"] = "ignore" // the sandbox's uid 0 is no one's root
		return nil, nil
	}
	src := filepath.Join(d.base, "pip-off")
	if err := writePipShim(src, interpreter); err != nil {
		return nil, err
	}
	at := pipOffDir
	if !mounted {
		at = src
	}
	env["PATH"] = at + "/bin:" + env["PATH"]
	env["PYTHONPATH"] = at + "/python"
	return []initproc.Bind{{Src: src, Dst: pipOffDir}}, nil
}

var pythonVersion = regexp.MustCompile(`^python(\d+\.\d+)$`)

// writePipShim writes the pip shim under dir: bin/pip, pip3 and
// pip3.N scripts, and a python/pip package, each printing
// PipDisabledMessage and exiting with status 1.
func writePipShim(dir, interpreter string) error {
	bin, py := filepath.Join(dir, "bin"), filepath.Join(dir, "python", "pip")
	if err := errors.Join(os.MkdirAll(bin, 0o755), os.MkdirAll(py, 0o755)); err != nil {
		return err
	}
	// MkdirAll applies the umask; the sandbox's uid must read them.
	for _, p := range []string{dir, bin, filepath.Dir(py), py} {
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
	}
	script := "#!/bin/sh\nprintf '%s\\n' '" + strings.ReplaceAll(PipDisabledMessage, "'", `'\''`) + "' >&2\nexit 1\n"
	names := []string{"pip", "pip3"}
	if m := pythonVersion.FindStringSubmatch(filepath.Base(interpreter)); m != nil {
		names = append(names, "pip"+m[1])
	}
	files := map[string]string{filepath.Join(py, "__init__.py"): "raise SystemExit(" + pyQuote(PipDisabledMessage) + ")\n"}
	for _, n := range names {
		files[filepath.Join(bin, n)] = script
	}
	for path, text := range files {
		if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
			return err
		}
		if err := os.Chmod(path, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// pyQuote returns s as a Python string literal (s has no backslash, quote
// or newline).
func pyQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}
