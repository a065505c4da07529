//go:build linux

package local

import (
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

// pipSetup is what a sandbox's pip needs beyond its environment: the
// shim's files, written into the sandbox's own root (with a mount
// namespace), or the host directory holding them (without one).
type pipSetup struct {
	files []initproc.File
	binds []initproc.Bind
}

// apply adds the set-up to the sandbox init's configuration.
func (s pipSetup) apply(cfg *initproc.Config) {
	cfg.Files = append(cfg.Files, s.files...)
	cfg.Binds = append(cfg.Binds, s.binds...)
}

// pipEnvironment adds to env what makes pip work (installs) or fail
// fast with PipDisabledMessage (else) in a sandbox whose home is home and
// whose host directory is d, and returns the shim's set-up.
//
// Whichever it is, pip reads no configuration file (PIP_CONFIG_FILE is
// /dev/null, and the host's /etc/pip.conf is not in the sandbox): the
// host's pip configuration, whose index URL may carry credentials, never
// reaches sandboxed code, and the sandbox's index is its own setting
// (sandbox.WithPackageIndex sets PIP_INDEX_URL).
//
// With installs on, pip installs into home/.site-packages (PIP_TARGET: a
// target directory, so Debian's PEP 668 guard of the system Python does
// not apply and the host's Python is never written), which is on
// sys.path (PYTHONPATH, before the system's packages) and whose bin on
// PATH. With installs off, a shim (a pip package first on sys.path, and
// pip scripts first on PATH) prints the message. With a mount namespace
// the shim's files are written into the sandbox's own root at pipOffDir,
// so no bind mount shows the host's directory in the sandbox's mount
// table; without one the sandbox sees the host anyway, and the shim is
// written under d.base and seen there.
func pipEnvironment(env map[string]string, installs bool, home string, d dirs, mounted bool, interpreter string) (pipSetup, error) {
	env["PIP_CONFIG_FILE"] = os.DevNull
	if installs {
		site := home + "/" + sitePackagesDir
		env["PIP_TARGET"] = site
		env["PYTHONPATH"] = site
		env["PATH"] = site + "/bin:" + env["PATH"]
		env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
		env["PIP_ROOT_USER_ACTION"] = "ignore" // the sandbox's uid 0 is no one's root
		return pipSetup{}, nil
	}
	files := pipShim(pipOffDir, interpreter)
	at := pipOffDir
	var setup pipSetup
	if mounted {
		setup.files = files
	} else {
		at = filepath.Join(d.base, "pip-off")
		if err := writePipShim(at, files); err != nil {
			return pipSetup{}, err
		}
		setup.binds = []initproc.Bind{{Src: at, Dst: pipOffDir}}
	}
	env["PATH"] = at + "/bin:" + env["PATH"]
	env["PYTHONPATH"] = at + "/python"
	return setup, nil
}

var pythonVersion = regexp.MustCompile(`^python(\d+\.\d+)$`)

// pipShim returns the pip shim's files under dir: bin/pip, pip3 and
// pip3.N scripts, and a python/pip package, each printing
// PipDisabledMessage and exiting with status 1.
func pipShim(dir, interpreter string) []initproc.File {
	script := "#!/bin/sh\nprintf '%s\\n' '" + strings.ReplaceAll(PipDisabledMessage, "'", `'\''`) + "' >&2\nexit 1\n"
	names := []string{"pip", "pip3"}
	if m := pythonVersion.FindStringSubmatch(filepath.Base(interpreter)); m != nil {
		names = append(names, "pip"+m[1])
	}
	files := []initproc.File{{Path: dir + "/python/pip/__init__.py", Data: "raise SystemExit(" + pyQuote(PipDisabledMessage) + ")\n", Mode: 0o644}}
	for _, n := range names {
		files = append(files, initproc.File{Path: dir + "/bin/" + n, Data: script, Mode: 0o755})
	}
	return files
}

// writePipShim writes the shim's files, whose paths are under pipOffDir,
// under dir on the host instead, readable by the sandbox's uid.
func writePipShim(dir string, files []initproc.File) error {
	for _, f := range files {
		path := filepath.Join(dir, strings.TrimPrefix(f.Path, pipOffDir))
		for p := filepath.Dir(path); ; p = filepath.Dir(p) {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			// MkdirAll applies the umask; the sandbox's uid must read them.
			if err := os.Chmod(p, 0o755); err != nil {
				return err
			}
			if p == dir {
				break
			}
		}
		if err := os.WriteFile(path, []byte(f.Data), os.FileMode(f.Mode)); err != nil {
			return err
		}
		if err := os.Chmod(path, os.FileMode(f.Mode)); err != nil {
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
