//go:build linux

package local

import (
	"maps"

	"golang.org/x/sys/unix"

	"github.com/ttadev/primitives/sandbox/local/internal/initproc"
)

// A stateless sandbox's calls each get a network namespace of their own
// (layer "netns_per_call"): the child that will run a call makes it before
// its command comes, inside a user namespace of its own, which needs no
// privilege (worker.py, _ns_enter). So no kernel network state of one call
// — a port in TIME_WAIT, a socket, /proc/net counters — is seen by the
// next. The sandbox's seccomp filter lets exactly that unshare through and
// the child refuses it to the call's code with a filter of its own; the
// sandbox's user namespace allows callNamespaces user and network
// namespaces at a time, which the kernel frees some time after a call's
// last process is gone. Inside, a call runs as the overflow uid (65534):
// /proc is read-only, so its user namespace maps no uid; files it creates
// belong to the sandbox's uid as before.

// callNamespaces bounds the user and network namespaces a stateless
// sandbox holds at once: the running call's, the next call's, and those
// the kernel has not freed yet (it frees them in the background; at a few
// hundred calls a second tens are pending on a 2-core host).
const callNamespaces = 64

// callNetNS reports whether a sandbox created with these options gives
// each call a network namespace of its own, and if not, why.
func (p *Provider) callNetNS(stateless, netns bool) (bool, string) {
	switch {
	case !stateless:
		return false, ""
	case !netns:
		return false, "the sandbox has the host's network"
	case p.plan.level != levelUserNS || !p.plan.nsByUID:
		return false, "the kernel lets no unprivileged uid create a user namespace here"
	case !p.plan.seccomp:
		return false, "seccomp unavailable"
	}
	return true, ""
}

// withCallNetNS sets up cfg for a network namespace per call: the filter's
// exception, the namespace budget and the worker's setting.
func withCallNetNS(cfg *initproc.Config) {
	cfg.CallNetNS = true
	limits := maps.Clone(cfg.UserLimits)
	limits["max_user_namespaces"] = callNamespaces
	limits["max_net_namespaces"] = callNamespaces
	cfg.UserLimits = limits
	cfg.Args[len(cfg.Args)-1] += " callns=" + itoa(unix.SYS_UNSHARE)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}
