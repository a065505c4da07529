package local

import (
	"errors"
	"slices"
	"strings"
)

// ErrIsolationUnavailable is returned by [New] when this machine cannot
// isolate both the file system and the network of a sandbox and
// [AllowUnsafe] was not given.
var ErrIsolationUnavailable = errors.New("local: cannot isolate the file system and the network on this machine")

// Isolation describes the layers a [Provider]'s sandboxes run under, as
// found by probing the machine once per process.
type Isolation struct {
	// Level is the degradation step in use: "userns" (every namespace,
	// created unprivileged through a user namespace), "rootns" (namespaces
	// created as host root without a user namespace, the worker switched
	// to uid 65534), or "none" (no namespaces: Landlock and seccomp only).
	Level string
	// Active lists the layers in force, e.g. "userns", "uid_mapped",
	// "mountns+pivot_root", "pidns", "netns", "ipcns", "utsns",
	// "cgroupns", "no_new_privs", "landlock(abi=7)", "caps_dropped",
	// "seccomp", "rlimits", "clean_env".
	Active []string
	// Missing maps layers that could not be used to the reason.
	Missing map[string]string
	// FilesystemIsolated and NetworkIsolated report the two guarantees New
	// insists on (unless AllowUnsafe).
	FilesystemIsolated bool
	NetworkIsolated    bool
}

// Has reports whether a layer is active; "landlock" matches any ABI.
func (i Isolation) Has(layer string) bool {
	return slices.ContainsFunc(i.Active, func(a string) bool {
		return a == layer || strings.HasPrefix(a, layer+"(")
	})
}

// String lists the active layers.
func (i Isolation) String() string {
	return i.Level + ": " + strings.Join(i.Active, ", ")
}

type level int

const (
	levelUserNS level = iota + 1
	levelRootNS
	levelNone
)

func (l level) String() string {
	switch l {
	case levelUserNS:
		return "userns"
	case levelRootNS:
		return "rootns"
	}
	return "none"
}
