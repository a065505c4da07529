//go:build linux

package local

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
)

// buildWheel returns a pure-Python wheel of project name (version 1.0)
// whose module sets VALUE = value, and its file name.
func buildWheel(t *testing.T, name string, value int) (string, []byte) {
	t.Helper()
	mod := strings.ReplaceAll(name, "-", "_")
	distInfo := mod + "-1.0.dist-info"
	files := []struct{ path, body string }{
		{mod + "/__init__.py", fmt.Sprintf("VALUE = %d\n", value)},
		{distInfo + "/METADATA", "Metadata-Version: 2.1\nName: " + name + "\nVersion: 1.0\nSummary: test package\n"},
		{distInfo + "/WHEEL", "Wheel-Version: 1.0\nGenerator: primitives-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var record strings.Builder
	for _, f := range files {
		w, err := zw.Create(f.path)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.body))
		sum := sha256.Sum256([]byte(f.body))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.path, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.body))
	}
	record.WriteString(distInfo + "/RECORD,,\n")
	w, err := zw.Create(distInfo + "/RECORD")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(record.String()))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return mod + "-1.0-py3-none-any.whl", buf.Bytes()
}

// packageIndex serves a PEP 503 simple index of the wheels on loopback
// and counts the wheels downloaded.
type packageIndex struct {
	*httptest.Server
	mu        sync.Mutex
	downloads map[string]int
}

func newPackageIndex(t *testing.T, wheels map[string]int) *packageIndex {
	t.Helper()
	type wheel struct {
		file string
		data []byte
	}
	byProject := map[string]wheel{}
	for name, value := range wheels {
		file, data := buildWheel(t, name, value)
		byProject[name] = wheel{file, data}
	}
	idx := &packageIndex{downloads: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /simple/{project}/", func(w http.ResponseWriter, r *http.Request) {
		wh, ok := byProject[r.PathValue("project")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		sum := sha256.Sum256(wh.data)
		fmt.Fprintf(w, "<!DOCTYPE html><html><body><a href=\"/files/%s#sha256=%s\">%s</a></body></html>\n",
			wh.file, hex.EncodeToString(sum[:]), wh.file)
	})
	mux.HandleFunc("GET /files/{file}", func(w http.ResponseWriter, r *http.Request) {
		for _, wh := range byProject {
			if wh.file == r.PathValue("file") {
				idx.mu.Lock()
				idx.downloads[wh.file]++
				idx.mu.Unlock()
				w.Write(wh.data)
				return
			}
		}
		http.NotFound(w, r)
	})
	idx.Server = httptest.NewServer(mux)
	t.Cleanup(idx.Close)
	return idx
}

func (idx *packageIndex) downloaded() int {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	n := 0
	for _, c := range idx.downloads {
		n += c
	}
	return n
}

func requirePip(t *testing.T, p *Provider) {
	t.Helper()
	if err := exec.Command(p.Interpreter(), "-m", "pip", "--version").Run(); err != nil {
		t.Fatalf("pip is not installed for %s (scripts/provision.sh installs python3-pip): %v", p.Interpreter(), err)
	}
}

func executeLong(t *testing.T, ce *sandbox.CodeExecution, code string) sandbox.CodeOutput {
	t.Helper()
	out, err := ce.Execute(context.Background(), sandbox.CodeInput{Code: code, Timeout: 60 * time.Second})
	if err != nil {
		t.Fatalf("Execute(%.60q): %v", code, err)
	}
	return out
}

// With installs on, pip installs from the index given by
// sandbox.WithPackageIndex into the sandbox's own site: the package
// imports in the next cell of the session, and in the same cell after
// importlib.invalidate_caches(), whichever way pip was started; the
// host's Python does not see it.
func TestPipInstallsIntoTheSandboxFromThePackageIndex(t *testing.T) {
	requirePip(t, sharedProvider(t))
	idx := newPackageIndex(t, map[string]int{"ttadev-demo-one": 41, "ttadev-demo-two": 42})
	ce, err := NewCodeExecutionPrimitive(observability.WithLogger(quiet), WithCodeOptions(
		sandbox.SessionMode(), sandbox.MaxSandboxes(1),
		sandbox.WithPipInstall(true), sandbox.WithPackageIndex(idx.URL+"/simple/")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ce.Close(context.Background()) })

	out := executeLong(t, ce, `import subprocess, sys
r = subprocess.run([sys.executable, "-m", "pip", "install", "ttadev-demo-one"], capture_output=True, text=True)
print("rc", r.returncode)
print(r.stdout[-1500:], r.stderr[-1500:])`)
	if !strings.Contains(out.Stdout, "rc 0") {
		t.Fatalf("python -m pip install failed:\n%s", out.Logs)
	}
	out = executeLong(t, ce, "import ttadev_demo_one\nprint(ttadev_demo_one.VALUE, ttadev_demo_one.__file__)")
	if !out.Success || !strings.HasPrefix(out.Stdout, "41 /work/.site-packages/ttadev_demo_one/") {
		t.Fatalf("import in the next cell: %s %s", out.Error, out.Logs)
	}

	out = executeLong(t, ce, `import os, importlib
rc = os.system("pip install -q ttadev-demo-two")
importlib.invalidate_caches()
import ttadev_demo_two
print(rc, ttadev_demo_two.VALUE)`)
	if !out.Success || strings.TrimSpace(out.Stdout) != "0 42" {
		t.Fatalf("os.system pip install and import in the same cell: %s\n%s", out.Error, out.Logs)
	}
	if n := idx.downloaded(); n != 2 {
		t.Errorf("%d wheels downloaded from the index, want 2", n)
	}
	host := exec.Command(ce.Pool().Provider().(*Provider).Interpreter(), "-c", "import ttadev_demo_one")
	if err := host.Run(); err == nil {
		t.Fatal("the package installed in the sandbox is importable by the host's Python")
	}
}

// With installs off, every way of running pip gets the one message that
// says so and how to turn them on: not the PEP 668 refusal, not a
// network error.
func TestPipWithInstallsOffSaysSoAtOnce(t *testing.T) {
	p := sharedProvider(t)
	requirePip(t, p)
	idx := newPackageIndex(t, map[string]int{"ttadev-demo-one": 41})
	none := newProvider(t, withLevel(levelNone)) // no mount namespace: the shim is seen at its host path
	for i, stateless := range []bool{false, true, false} {
		if i == 2 {
			p = none
		}
		s := newSandbox(t, p, sandbox.CreateOptions{Stateless: stateless,
			Env: map[string]string{"PIP_INDEX_URL": idx.URL + "/simple/", "PIP_TRUSTED_HOST": strings.TrimPrefix(idx.URL, "http://")}})
		for _, code := range []string{
			"import subprocess, sys\nr = subprocess.run([sys.executable, '-m', 'pip', 'install', 'ttadev-demo-one'])\nprint('rc', r.returncode)",
			"import os\nprint('rc', os.waitstatus_to_exitcode(os.system('pip install ttadev-demo-one')))",
			"import subprocess\nr = subprocess.run(['/usr/bin/pip3', 'install', 'ttadev-demo-one'])\nprint('rc', r.returncode)",
		} {
			ex := mustSucceed(t, s, code)
			stderr := ex.StderrText()
			if ex.StdoutText() != "rc 1\n" || strings.Count(stderr, PipDisabledMessage) != 1 ||
				strings.Contains(stderr, "externally-managed") || strings.TrimSpace(stderr) != PipDisabledMessage {
				t.Errorf("level %s stateless=%v %q:\nstdout %q\nstderr %q\nwant rc 1 and only the message", p.Isolation().Level, stateless, code, ex.StdoutText(), stderr)
			}
		}
	}
	if n := idx.downloaded(); n != 0 {
		t.Errorf("%d wheels downloaded with installs off", n)
	}
}

// A stateless sandbox installs for the call only: the package imports in
// the same call, and the next call starts without it.
func TestPipInstallInStatelessSandboxLastsOneCall(t *testing.T) {
	p := sharedProvider(t)
	requirePip(t, p)
	idx := newPackageIndex(t, map[string]int{"ttadev-demo-one": 41})
	s := newSandbox(t, p, sandbox.CreateOptions{Stateless: true, AllowInternet: true,
		Env: map[string]string{"PIP_INDEX_URL": idx.URL + "/simple/", "PIP_TRUSTED_HOST": strings.TrimPrefix(idx.URL, "http://")}})
	ex := mustSucceed(t, s, "import os, importlib\nrc = os.system('pip install -q ttadev-demo-one')\nimportlib.invalidate_caches()\nimport ttadev_demo_one\nprint(rc, ttadev_demo_one.VALUE)")
	if ex.StdoutText() != "0 41\n" {
		t.Fatalf("install and import in one stateless call: %q %q", ex.StdoutText(), ex.StderrText())
	}
	ex = run(t, s, "import ttadev_demo_one")
	if ex.Error == nil || ex.Error.Name != "ModuleNotFoundError" {
		t.Fatalf("the next stateless call imported the package: %v", ex.Error)
	}
}

// TestHostPipConfigurationNeverReachesTheSandbox is finding 12 of issue
// 17 (pip): the host's pip configuration, whose index URL may carry
// credentials, is not the sandbox's. With a configuration file holding a
// credential named by the host process's PIP_CONFIG_FILE, and the host's
// /etc/pip.conf (created with the credential if absent, removed after),
// sandboxed code — with installs on and off, pip run as the sandbox runs
// it and with PIP_CONFIG_FILE unset and the shim bypassed — finds no pip
// configuration, cannot read either file, and finds the credential in no
// environment.
func TestHostPipConfigurationNeverReachesTheSandbox(t *testing.T) {
	p := sharedProvider(t)
	requirePip(t, p)
	secret := "ttadev-test-credential-" + newNonce()
	conf := "[global]\nindex-url = https://mirror-user:" + secret + "@mirror.invalid/simple/\n"
	hostFile := filepath.Join(t.TempDir(), "pip.conf")
	writeFile(t, hostFile, conf, 0o644)
	t.Setenv("PIP_CONFIG_FILE", hostFile)
	t.Setenv("PIP_INDEX_URL", "https://mirror-user:"+secret+"@mirror.invalid/simple/")
	if _, err := os.Lstat("/etc/pip.conf"); os.IsNotExist(err) {
		writeFile(t, "/etc/pip.conf", conf, 0o644)
		t.Cleanup(func() { os.Remove("/etc/pip.conf") })
	} else {
		t.Logf("the host has an /etc/pip.conf: it is left as it is, and must not be seen either")
	}
	probe := fmt.Sprintf(`import os, subprocess, sys
def pip(*args, env=None):
    r = subprocess.run([sys.executable, "-I", "-m", "pip", *args], capture_output=True, text=True, env=env)
    # What pip takes from the environment (":env:" lines) is the sandbox's own.
    return "\n".join(l for l in (r.stdout + r.stderr).splitlines() if not l.startswith(":env:"))
bare = {k: v for k, v in os.environ.items() if k != "PIP_CONFIG_FILE"}
print("config:", repr(pip("config", "list")))
print("config without PIP_CONFIG_FILE:", repr(pip("config", "list", env=bare)))
for path in (%q, "/etc/pip.conf", "/etc/xdg/pip/pip.conf", os.path.expanduser("~/.config/pip/pip.conf")):
    try:
        print("read", path, repr(open(path).read()))
    except OSError as e:
        print("unreadable", path, type(e).__name__)
print("environ:", repr(os.environ), repr(open("/proc/1/environ", "rb").read()))
`, hostFile)
	for _, installs := range []bool{false, true} {
		s := newSandbox(t, p, sandbox.CreateOptions{AllowInternet: installs})
		ex := mustSucceed(t, s, probe)
		out := ex.StdoutText()
		if strings.Contains(out, secret) || strings.Contains(ex.StderrText(), secret) {
			t.Errorf("installs=%v: the host's pip credential reached sandboxed code:\n%s", installs, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "read ") {
				t.Errorf("installs=%v: sandboxed code read a pip configuration file: %s", installs, line)
			}
			if strings.HasPrefix(line, "config") && !strings.HasSuffix(line, ": ''") {
				t.Errorf("installs=%v: pip inside found a configuration: %s", installs, line)
			}
		}
		if !strings.Contains(out, "unreadable /etc/pip.conf") {
			t.Errorf("installs=%v: probe output incomplete:\n%s", installs, out)
		}
	}
}
