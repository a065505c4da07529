//go:build linux

package local

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ttadev/primitives/sandbox"
)

// TestMountTableNamesNoHostPathOfTheSandbox is finding 12 of issue 17
// (host facts): the sandbox's mount table (/proc/self/mountinfo,
// /proc/mounts, and the init's) must not tell sandboxed code where on the
// host its directory lives. With a work-dir root of a distinctive name,
// in a session, a stateless and a networked sandbox, no line names that
// root, the sandbox's directory or its name, and every bind mount is
// seen at the path it has on the host (so it reveals nothing the sandbox
// does not already see); the pip shim used to be bound from
// <TMPDIR>/ttadev-sandbox-<n>/pip-off.
func TestMountTableNamesNoHostPathOfTheSandbox(t *testing.T) {
	root := filepath.Join(t.TempDir(), "host-secret-root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := root; d != "/"; d = filepath.Dir(d) {
		if strings.HasPrefix(d, os.TempDir()+"/") {
			os.Chmod(d, 0o755) // the sandbox's uid traverses it
		}
	}
	p := newProvider(t, WithWorkDirRoot(root))
	if !p.Isolation().FilesystemIsolated {
		t.Fatalf("file system not isolated: %v", p.Isolation().Missing)
	}
	const probe = `for f in ("/proc/self/mountinfo", "/proc/mounts", "/proc/1/mountinfo", "/proc/self/mountstats"):
    try:
        print(open(f).read())
    except OSError as e:
        print(f, type(e).__name__)
`
	for _, opts := range []sandbox.CreateOptions{{}, {Stateless: true}, {AllowInternet: true}} {
		s := newSandbox(t, p, opts)
		out := mustSucceed(t, s, probe).StdoutText()
		for _, host := range []string{root, s.dirs.base, filepath.Base(s.dirs.base), "ttadev-sandbox", "pip-off /"} {
			if strings.Contains(out, host) {
				t.Errorf("%+v: the mount table names %q:\n%s", opts, host, out)
			}
		}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) < 10 || !strings.Contains(line, " - ") {
				continue // not a mountinfo line
			}
			src, at, fstype := f[3], f[4], f[len(f)-3]
			if i := slices.Index(f, "-"); i > 0 {
				fstype = f[i+1]
			}
			if src != "/" && src != at && !(fstype == "devtmpfs" && "/dev"+src == at) {
				t.Errorf("%+v: %s is bound from %s: a host path the sandbox does not see there\n%s", opts, at, src, line)
			}
		}
	}
}
