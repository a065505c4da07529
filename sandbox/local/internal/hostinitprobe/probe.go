// Package hostinitprobe stands for a package of a host program whose init
// function has side effects: it writes a file and opens a socket. The
// tests of package local import it to check that, in a re-executed
// sandbox init, such code runs without the host's file system or network.
// It does nothing in any other process.
package hostinitprobe

import (
	"net"
	"os"
	"strconv"
	"time"
)

// Dir is the host directory the probe writes into (the test creates it,
// world-writable, and removes it).
const Dir = "/tmp/ttadev-hostinit-probe"

// Port is the host loopback port the probe connects to.
const Port = 39127

func init() {
	if len(os.Args) == 0 || os.Args[0] != "ttadev-sandbox-init" {
		return
	}
	if _, err := os.Stat(Dir); err != nil {
		return // not reachable: the file system is isolated
	}
	os.WriteFile(Dir+"/wrote-"+strconv.Itoa(os.Getpid()), []byte("host file written from a sandbox init"), 0o644)
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(Port), time.Second); err == nil {
		c.Write([]byte("connected from a sandbox init"))
		c.Close()
	}
}
