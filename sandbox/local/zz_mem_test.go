//go:build linux

package local

import (
	"testing"

	"github.com/ttadev/primitives/sandbox"
)

func TestTmpZygotePrlimit(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{Stateless: true})
	ex := mustSucceed(t, s, `
import os, resource
pp = os.getppid()
try:
    resource.prlimit(pp, resource.RLIMIT_NOFILE, (20, 20)); print("prlimit-ok")
except OSError as e:
    print(repr(e))
try:
    os.setpriority(os.PRIO_PROCESS, pp, 19); print("nice-ok")
except OSError as e:
    print(repr(e))
try:
    os.sched_setaffinity(pp, {0}); print("aff-ok")
except OSError as e:
    print(repr(e))
`)
	t.Log(ex.StdoutText(), ex.StderrText())
	ex = mustSucceed(t, s, `
import os, resource
print(resource.getrlimit(resource.RLIMIT_NOFILE), os.getpriority(os.PRIO_PROCESS, 0), os.sched_getaffinity(0))
`)
	t.Log(ex.StdoutText(), ex.StderrText())
}
