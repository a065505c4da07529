// Package redistest starts a real, throw-away redis-server for tests: on a
// free port of 127.0.0.1, in a temporary directory, with persistence off
// (--save "" --appendonly no).
//
//	func TestSomething(t *testing.T) {
//		srv := redistest.Start(t) // stopped when the test ends
//		client := redis.NewClient(&redis.Options{Addr: srv.Addr})
//		...
//	}
//
// The redis-server binary must be on PATH (Debian/Ubuntu:
// apt-get install redis-server; this repository's `make test` installs it).
// When it is missing, Start fails the test with that advice: tests that need
// Redis never pass silently without it.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// InstallHint says how to get redis-server.
const InstallHint = "redis-server is not on PATH: install it with `apt-get install redis-server` " +
	"(Debian/Ubuntu) or run `make test`, which installs it"

// Server is a running redis-server.
type Server struct {
	// Addr is host:port of the server, on 127.0.0.1.
	Addr string

	cmd      *exec.Cmd
	dir      string
	waitErr  chan error
	stopOnce sync.Once
}

// Start starts a server and stops it when t and its subtests end. It fails
// t (t.Fatal) when redis-server is missing or does not answer PING within
// ten seconds.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := StartServer()
	if err != nil {
		t.Fatal(err)
		return nil // reached only with a testing.TB whose Fatal returns
	}
	t.Cleanup(s.Stop)
	return s
}

// StartServer starts a server that the caller must Stop, for use in
// TestMain. It returns an error wrapping exec.ErrNotFound, with
// [InstallHint], when redis-server is missing.
func StartServer() (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redistest: %s: %w", InstallHint, err)
	}
	var lastErr error
	for range 3 { // the free port may be taken between probe and bind
		s, err := start(bin)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func start(bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("redistest: no free port: %w", err)
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--loglevel", "warning",
		"--logfile", "",
	)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("redistest: starting %s: %w", bin, err)
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, dir: dir, waitErr: make(chan error, 1)}
	go func() { s.waitErr <- cmd.Wait() }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := ping(s.Addr); err == nil {
			return s, nil
		} else if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("redistest: redis-server on %s did not answer PING: %v; output: %s", s.Addr, err, out.String())
		}
		select {
		case werr := <-s.waitErr:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("redistest: redis-server exited (%v); output: %s", werr, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Stop terminates the server and removes its directory. It is idempotent.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd.Process != nil {
			_ = s.cmd.Process.Kill()
			select {
			case <-s.waitErr:
			case <-time.After(5 * time.Second):
			}
		}
		os.RemoveAll(s.dir)
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ping sends PING in the inline protocol and expects +PONG.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return errors.New("unexpected reply " + strings.TrimSpace(line))
	}
	return nil
}
