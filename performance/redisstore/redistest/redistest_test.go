package redistest_test

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/ttadev/primitives/performance/redisstore/redistest"
)

func TestStartAnswersAndStops(t *testing.T) {
	srv := redistest.Start(t)
	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fmt.Fprint(conn, "CONFIG GET save\r\n")
	buf := make([]byte, 256)
	n, _ := conn.Read(buf)
	conn.Close()
	if !strings.Contains(string(buf[:n]), "save") {
		t.Fatalf("CONFIG GET reply %q", buf[:n])
	}
	srv.Stop()
	srv.Stop() // idempotent
	if c, err := net.Dial("tcp", srv.Addr); err == nil {
		c.Close()
		t.Fatal("server still listening after Stop")
	}
}

// fatalRecorder records Fatal instead of stopping the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatal(args ...any) { f.msg = fmt.Sprint(args...) }
func (f *fatalRecorder) Helper()           {}

func TestMissingBinaryFailsWithInstallAdvice(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := redistest.StartServer()
	if !errors.Is(err, exec.ErrNotFound) || !strings.Contains(err.Error(), "apt-get install redis-server") {
		t.Fatalf("StartServer without redis-server: %v", err)
	}
	rec := &fatalRecorder{TB: t}
	if srv := redistest.Start(rec); srv != nil {
		t.Fatal("Start returned a server without redis-server")
	}
	if !strings.Contains(rec.msg, "make test") {
		t.Fatalf("Start did not fail the test with install advice: %q", rec.msg)
	}
}
