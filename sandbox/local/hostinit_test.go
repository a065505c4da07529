//go:build linux

package local

import (
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local/internal/hostinitprobe"
)

// TestHostInitFunctionsDoNotReachTheHost: the sandbox init is this test
// binary re-executed, so every package init function of the binary runs in
// it — hostinitprobe's writes a host file and connects to a host port.
// They must run only after the sandbox's root and network are in place.
func TestHostInitFunctionsDoNotReachTheHost(t *testing.T) {
	os.RemoveAll(hostinitprobe.Dir)
	if err := os.Mkdir(hostinitprobe.Dir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(hostinitprobe.Dir, 0o1777)
	t.Cleanup(func() { os.RemoveAll(hostinitprobe.Dir) })
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(hostinitprobe.Port))
	if err != nil {
		t.Fatalf("port %d, which the probe package dials, is taken: %v", hostinitprobe.Port, err)
	}
	defer ln.Close()
	conns := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()

	p := newProvider(t)
	s := newSandbox(t, p, sandbox.CreateOptions{})
	mustSucceed(t, s, "1")
	if ents, _ := os.ReadDir(hostinitprobe.Dir); len(ents) > 0 {
		t.Fatalf("an init function in the sandbox process wrote %s on the host", ents[0].Name())
	}
	select {
	case c := <-conns:
		c.Close()
		t.Fatal("an init function in the sandbox process connected to the host's loopback")
	case <-time.After(100 * time.Millisecond):
	}
}
