//go:build linux

package local

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ttadev/primitives/sandbox"
)

// Probes of an attacker running as root inside the sandbox, beyond the
// hostile cases of hostile_test.go.

func TestEscapeOnlyExpectedDescriptors(t *testing.T) {
	// A descriptor the host process holds without close-on-exec (as
	// programs inherit from shells and supervisors) must not reach the
	// sandbox.
	secret := filepath.Join(t.TempDir(), "host-secret")
	writeFile(t, secret, "host-only-secret", 0o644)
	fd, err := syscall.Open(secret, syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	// Far above the descriptors the host hands the init on purpose.
	if err := syscall.Dup3(fd, 200, 0); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(200)
	p := sharedProvider(t)
	s := newSandbox(t, p, sandbox.CreateOptions{})
	ex := mustSucceed(t, s, `import os
own = {os.readlink('/proc/self/fd/%d' % fd) for fd in range(5)}
foreign = []
for fd in sorted(int(x) for x in os.listdir('/proc/self/fd')):
    try:
        target = os.readlink('/proc/self/fd/%d' % fd)
    except FileNotFoundError:
        continue  # the directory listing itself
    if target not in own:
        foreign.append('%d=%s' % (fd, target))
foreign`)
	if ex.Text() != "[]" {
		t.Errorf("descriptors in the worker that are not its own pipes: %s", ex.Text())
	}
	// The init's descriptors and memory are out of reach, and the host
	// binary is not mapped in the sandbox.
	ex = mustSucceed(t, s, `import os
opened = []
for fd in os.listdir('/proc/1/fd'):
    for flags in (os.O_RDONLY, os.O_WRONLY):
        try:
            os.close(os.open('/proc/1/fd/' + fd, flags)); opened.append(fd)
        except OSError:
            pass
opened`)
	if ex.Text() != "[]" {
		t.Errorf("descriptors of the init opened through /proc/1/fd: %s", ex.Text())
	}
	ex = mustSucceed(t, s, `import os
sorted({os.path.basename(os.readlink('/proc/%s/exe' % p)) for p in os.listdir('/proc') if p.isdigit()})`)
	if exe, _ := os.Executable(); strings.Contains(ex.Text(), "'"+filepath.Base(exe)+"'") || !strings.Contains(ex.Text(), "'python3") {
		t.Errorf("programs running in the sandbox: %s; want the interpreter and its init, not this binary", ex.Text())
	}
	// Process 1 is the interpreter's own init, forked from the worker
	// before it read any code (the host binary no longer stays resident):
	// its environment, root and mappings are the worker's own, and its
	// memory stays out of reach.
	for _, path := range []string{"/proc/1/mem"} {
		ex := run(t, s, fmt.Sprintf(`import os
p = %q
os.listdir(p) if os.path.isdir(p) else open(p, 'rb').read(64)`, path))
		if ex.Error == nil && ex.Text() != "b''" {
			t.Errorf("%s readable: %.200s", path, ex.Text())
		}
	}
}

func TestEscapeWritesOutsideSandboxFail(t *testing.T) {
	p := sharedProvider(t)
	s := newSandbox(t, p, sandbox.CreateOptions{})
	for _, path := range []string{"/proc/sysrq-trigger", "/proc/sys/kernel/hostname", "/proc/sys/vm/drop_caches",
		"/dev/null/x", "/dev/evil", "/usr/lib/evil", "/proc/1/root/usr/evil", "/sys/kernel/evil"} {
		if ex := run(t, s, fmt.Sprintf("open(%q, 'w').write('1')", path)); ex.Error == nil {
			t.Errorf("writing %s succeeded", path)
		}
	}
	if ex := run(t, s, "import os\nos.listdir('/sys')"); ex.Error == nil && ex.Text() != "[]" {
		t.Errorf("/sys visible: %s", ex.Text())
	}
}

func TestEscapeSignalsStayInside(t *testing.T) {
	p := sharedProvider(t)
	s := newSandbox(t, p, sandbox.CreateOptions{})
	// kill(-1) reaches only the sandbox's own processes: the worker dies,
	// the host and other sandboxes do not notice.
	other := newSandbox(t, p, sandbox.CreateOptions{})
	s.Run(context.Background(), "import os, signal\nos.kill(-1, signal.SIGKILL)", sandbox.RunOptions{Timeout: 10 * time.Second})
	if ex := mustSucceed(t, other, "1+1"); ex.Text() != "2" {
		t.Fatalf("other sandbox: %s", ex.Text())
	}
	assertHealthy(t, p)
}
func TestEscapeForgedResultsCannotExhaustHostMemory(t *testing.T) {
	const max = 64 << 10
	p := newProvider(t, WithMaxOutputBytes(max))
	s := newSandbox(t, p, sandbox.CreateOptions{})
	// 16 MiB of result events written straight to the event pipe.
	ex := mustSucceed(t, s, `import os
line = ('{"t":"result","text":"' + 'x' * 60000 + '"}\n').encode()
for _ in range(280):
    os.write(4, line)
None`)
	total := 0
	for _, r := range ex.Results {
		total += len(r.Text) + len(r.HTML) + len(r.PNG) + len(r.JSON)
	}
	if total > 2*max {
		t.Fatalf("host kept %d bytes of results (%d results), limit %d", total, len(ex.Results), max)
	}
	assertHealthy(t, p)
}
func TestEscapeHostIPv6LoopbackAndAbstractSocket(t *testing.T) {
	var accepted atomic.Int32
	serve := func(ln net.Listener) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}
	ln6, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln6.Close()
	go serve(ln6)
	name := "ttadev-probe-" + rand.Text()
	lnu, err := net.Listen("unix", "@"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer lnu.Close()
	go serve(lnu)

	p := sharedProvider(t)
	s := newSandbox(t, p, sandbox.CreateOptions{})
	ex := run(t, s, fmt.Sprintf("import socket\nsocket.create_connection(('::1', %d), timeout=2)", ln6.Addr().(*net.TCPAddr).Port))
	if ex.Error == nil {
		t.Error("connecting to the host's [::1] succeeded")
	}
	abstract := fmt.Sprintf("import socket\nc = socket.socket(socket.AF_UNIX)\nc.settimeout(2)\nc.connect('\\0%s')", name)
	if ex := run(t, s, abstract); ex.Error == nil {
		t.Error("connecting to the host's abstract unix socket succeeded")
	}
	// Even with the host's network, abstract unix sockets of the host
	// (desktop buses, X11, container runtimes) stay out of reach.
	if !p.Isolation().Has("landlock") {
		t.Fatal("test needs Landlock")
	}
	open := newSandbox(t, p, sandbox.CreateOptions{AllowInternet: true})
	if ex := run(t, open, abstract); ex.Error == nil {
		t.Error("with AllowInternet: connecting to the host's abstract unix socket succeeded")
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("host listeners accepted %d connections", n)
	}
}

func TestEscapeNoPidNamespaceCannotSignalHostProcesses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("test needs root, to run a host process as the sandbox's uid 65534")
	}
	// A host process with the very uid the sandbox runs as at level "none".
	victim := exec.Command("/bin/sleep", "60")
	victim.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { victim.Process.Kill(); victim.Wait() }()
	p := newProvider(t, withLevel(levelNone))
	if !p.Isolation().Has("landlock") {
		t.Fatal("test needs Landlock")
	}
	s := newSandbox(t, p, sandbox.CreateOptions{})
	ex := run(t, s, fmt.Sprintf("import os, signal\nos.kill(%d, signal.SIGKILL)", victim.Process.Pid))
	time.Sleep(50 * time.Millisecond)
	if ex.Error == nil || !alive(victim.Process.Pid) {
		t.Fatalf("the sandbox killed host process %d (error %+v)", victim.Process.Pid, ex.Error)
	}
}
func TestEscapeWorkDirIsBounded(t *testing.T) {
	p := newProvider(t, WithWorkDirSize(8<<20))
	s := newSandbox(t, p, sandbox.CreateOptions{})
	ex := run(t, s, `chunk = b'x' * (1 << 20)
for i in range(32):
    with open('/work/f%d' % i, 'wb') as f:
        f.write(chunk)`)
	if ex.Error == nil || !strings.Contains(ex.Error.Value, "No space left") {
		t.Fatalf("writing 32 MiB into an 8 MiB work dir: error %+v", ex.Error)
	}
	// Many small files: the inode count is bounded too.
	ex = run(t, s, `import os
for i in range(1 << 20):
    os.close(os.open('/work/n%d' % i, os.O_CREAT | os.O_WRONLY))`)
	if ex.Error == nil {
		t.Fatal("a million files created in /work")
	}
	mustSucceed(t, s, "import os\nfor f in os.listdir('/work'): os.unlink('/work/' + f)\nopen('/work/ok', 'w').write('fine')")
	assertHealthy(t, p)
}
