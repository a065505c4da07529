//go:build linux

package local

import (
	"os"

	"github.com/ttadev/primitives/sandbox/local/internal/initproc"
)

// The sandbox init is this very program, re-executed through
// /proc/self/exe with argv[0] set to a marker. When this package is
// initialised in such a process, control passes to the sandbox init,
// which never returns: the program's main function never runs there.
// Programs (and test binaries) that import this package need nothing
// else.
func init() {
	if len(os.Args) > 0 && os.Args[0] == initproc.Marker {
		initproc.Main()
	}
}
