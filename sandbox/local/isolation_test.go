//go:build linux

package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/ttadev/primitives/observability"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/sandbox"
)

func TestIsolationReportsEveryLayerAndLogsOnce(t *testing.T) {
	loggedIsolation.Clear() // another test may have logged this result already
	var buf bytes.Buffer
	p, err := New(observability.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	iso := p.Isolation()
	want := []string{"userns", "uid_mapped", "mountns+pivot_root", "pidns", "netns", "ipcns", "utsns",
		"seccomp", "landlock", "rlimits", "no_new_privs", "caps_dropped", "clean_env"}
	for _, layer := range want {
		if !iso.Has(layer) {
			t.Errorf("layer %s missing: %s (missing: %v)", layer, iso, iso.Missing)
		}
	}
	if iso.Level != "userns" || !iso.FilesystemIsolated || !iso.NetworkIsolated {
		t.Fatalf("isolation = %+v", iso)
	}
	if p.Name() != "local" || !strings.HasSuffix(p.Interpreter(), "python3.11") && !strings.Contains(p.Interpreter(), "python3") {
		t.Fatalf("name %q interpreter %q", p.Name(), p.Interpreter())
	}
	line := buf.String()
	if strings.Count(line, "\n") != 1 || !strings.Contains(line, "local sandbox isolation") || !strings.Contains(line, "seccomp") {
		t.Fatalf("log = %q", line)
	}
	// Isolation returns a copy.
	iso.Active[0] = "changed"
	if p.Isolation().Active[0] == "changed" {
		t.Fatal("Isolation shares its slice")
	}
}

// Each weaker step must still isolate the file system and the network.
func TestDegradedLevelsStillIsolate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	for _, l := range []level{levelRootNS, levelNone} {
		t.Run(l.String(), func(t *testing.T) {
			p := newProvider(t, withLevel(l))
			iso := p.Isolation()
			if iso.Level != l.String() || !iso.FilesystemIsolated || !iso.NetworkIsolated || iso.Has("userns") {
				t.Fatalf("isolation = %+v", iso)
			}
			s := newSandbox(t, p, sandbox.CreateOptions{})
			ex := mustSucceed(t, s, "import os\nopen('f.txt', 'w').write('x')\nprint(os.getuid())\nos.getcwd() == os.environ['HOME']")
			if ex.Text() != "True" || ex.StdoutText() != "65534\n" {
				t.Fatalf("work dir / uid: %q %q", ex.Text(), ex.StdoutText())
			}
			for _, code := range []string{
				"open('/etc/shadow').read()",
				"import os\nos.listdir('/root')",
				"open('/usr/evil', 'w')",
				fmt.Sprintf("import socket\nsocket.create_connection(('127.0.0.1', %d), timeout=2)", port),
				"import socket\nsocket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)",
			} {
				if ex := run(t, s, code); ex.Error == nil {
					t.Errorf("%q succeeded at level %s", code, l)
				}
			}
			mustSucceed(t, s, "import subprocess\nbg = subprocess.Popen(['sleep', '1000'])")
			pids := processTree(s.child.cmd.Process.Pid)
			s.Close(context.Background())
			assertCleanedUp(t, s, pids)
		})
	}
}

func TestAllowInternetSkipsNetworkNamespace(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello from the host\n"))
			c.Close()
		}
	}()
	p := sharedProvider(t)
	s := newSandbox(t, p, sandbox.CreateOptions{AllowInternet: true})
	if s.Isolation().Has("netns") || !p.Isolation().Has("netns") {
		t.Fatalf("sandbox isolation %v, provider %v", s.Isolation(), p.Isolation())
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ex := mustSucceed(t, s, fmt.Sprintf("import socket\nc = socket.create_connection(('127.0.0.1', %d), timeout=5)\nc.recv(100)", port))
	if ex.Text() != "b'hello from the host\\n'" {
		t.Fatalf("with AllowInternet: %q", ex.Text())
	}
	// The file system stays isolated.
	if ex := run(t, s, "open('/etc/shadow').read()"); ex.Error == nil {
		t.Fatal("/etc/shadow readable")
	}
}

func TestOptionsPanicOnInvalidValues(t *testing.T) {
	cases := map[string]func(){
		"WithMemoryLimit":    func() { WithMemoryLimit(0) },
		"WithMaxFileSize":    func() { WithMaxFileSize(-1) },
		"WithMaxProcesses":   func() { WithMaxProcesses(0) },
		"WithMaxOpenFiles":   func() { WithMaxOpenFiles(-5) },
		"WithTmpSize":        func() { WithTmpSize(0) },
		"WithWorkDirSize":    func() { WithWorkDirSize(-1) },
		"WithMaxOutputBytes": func() { WithMaxOutputBytes(0) },
		"WithDefaultTimeout": func() { WithDefaultTimeout(0) },
		"WithInterpreter":    func() { WithInterpreter("") },
		"WithWorkDirRoot":    func() { WithWorkDirRoot("") },
		"WithHostUIDRange":   func() { WithHostUIDRange(1<<32-10, 100) },
	}
	for name, f := range cases {
		func() {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.HasPrefix(msg, "local: "+name+": ") {
					t.Errorf("%s: panic = %v", name, r)
				}
			}()
			f()
		}()
	}
}

func TestInterpreterResolution(t *testing.T) {
	exe, err := resolveInterpreter("")
	if err != nil || !strings.HasPrefix(exe, "/usr/bin/python3") || isScript(exe) {
		t.Fatalf("default = %q, %v", exe, err)
	}
	// A script shim is replaced by the binary it runs.
	dir := t.TempDir()
	shim := dir + "/python3"
	writeFile(t, shim, "#!/bin/sh\nexec /usr/bin/python3 \"$@\"\n", 0o755)
	got, err := resolveInterpreter(shim)
	if err != nil || got != exe {
		t.Fatalf("shim resolved to %q, %v; want %q", got, err, exe)
	}
	if _, err := resolveInterpreter(dir + "/missing"); err == nil {
		t.Fatal("a missing interpreter was accepted")
	}
	if _, err := New(WithInterpreter(dir+"/missing"), observability.WithLogger(quiet)); err == nil {
		t.Fatal("New accepted a missing interpreter")
	}
	if b := interpreterBinds("/usr/bin/python3.11"); b != nil {
		t.Fatalf("binds for /usr = %v", b)
	}
	if b := interpreterBinds("/opt/py/3.12/bin/python3.12"); len(b) != 1 || b[0] != "/opt/py/3.12" {
		t.Fatalf("binds = %v", b)
	}
}

func TestDefaultTimeoutOption(t *testing.T) {
	p := newProvider(t, WithDefaultTimeout(300*time.Millisecond))
	s := newSandbox(t, p, sandbox.CreateOptions{})
	_, err := s.Run(context.Background(), "import time\ntime.sleep(30)", sandbox.RunOptions{})
	var te interface{ Retryable() bool }
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "300ms") {
		t.Fatalf("err = %v", err)
	}
}

func TestWorkDirRootMustBeTraversable(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	p, err := New(WithWorkDirRoot(dir), observability.WithLogger(quiet))
	if os.Geteuid() != 0 {
		// The sandbox runs as the caller's own uid: a private dir works.
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		mustSucceed(t, newSandbox(t, p, sandbox.CreateOptions{}), "1")
		return
	}
	if err == nil || !strings.Contains(err.Error(), "not searchable") {
		t.Fatalf("err = %v", err)
	}
}

// The full isolation is logged at Info once per process, whatever the
// number of providers and loggers; a degraded one warns at every New.
func TestIsolationLogOncePerResultAndWarnWhenDegraded(t *testing.T) {
	loggedIsolation.Clear()
	var full, other, deg bytes.Buffer
	for range 3 {
		newProvider(t, observability.WithLogger(slog.New(slog.NewTextHandler(&full, nil))))
	}
	newProvider(t, observability.WithLogger(slog.New(slog.NewTextHandler(&other, nil))))
	if n := strings.Count(full.String(), "local sandbox isolation"); n != 1 || !strings.Contains(full.String(), "level=INFO") {
		t.Errorf("three New calls logged %d isolation records, want 1 at Info:\n%s", n, full.String())
	}
	if other.Len() != 0 {
		t.Errorf("a fourth New with another logger logged the same result again: %s", other.String())
	}
	for range 2 {
		newProvider(t, withLevel(levelRootNS), observability.WithLogger(slog.New(slog.NewTextHandler(&deg, nil))))
	}
	lines := strings.Split(strings.TrimSpace(deg.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("two degraded New calls logged %d records, want 2:\n%s", len(lines), deg.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, "level=WARN") || !strings.Contains(l, "local sandbox isolation") || !strings.Contains(l, "isolation_level=rootns") {
			t.Errorf("degraded isolation record %q, want a Warn naming level rootns", l)
		}
	}
}
