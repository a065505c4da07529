//go:build linux

package local

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ttadev/primitives/sandbox/local/internal/initproc"
)

// plan is how sandboxes are built, decided by the probe.
type plan struct {
	level      level
	cloneflags uintptr // namespaces except the network one
	netns      bool    // a network namespace can be created
	mount      bool
	landlock   bool
	seccomp    bool
	hostUID    int // host uid/gid the sandbox runs as
	hostGID    int
	nsByUID    bool // the user namespace is created under hostUID, not by the host process (root)
	dropUID    int  // uid the init switches to (-1: none, the user namespace maps it)
	dropGID    int
}

const baseNS = syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS

var (
	probeOnce   sync.Once
	probePlan   plan
	probeResult Isolation
)

// probeIsolation tries each degradation step in turn, once per process.
func probeIsolation(workRoot string) (plan, Isolation) {
	probeOnce.Do(func() { probePlan, probeResult = runProbe(workRoot, 0) })
	return probePlan, probeResult
}

// runProbe starts a probing init for each candidate step, from the
// strongest, and keeps the first that starts; min skips stronger steps.
func runProbe(workRoot string, min level) (plan, Isolation) {
	missing := map[string]string{}
	uid, gid := os.Geteuid(), os.Getegid()
	unpriv, unprivG := uid, gid
	if uid == 0 {
		unpriv, unprivG = 65534, 65534
	}
	var cands []plan
	if min <= levelUserNS {
		// A root host process creates each user namespace under the
		// sandbox's own uid where the kernel lets that uid create one, so
		// the namespace's counts are charged to it; else as root.
		owners := []bool{false}
		if uid == 0 {
			owners = []bool{true, false}
		}
		for _, byUID := range owners {
			for _, cg := range []uintptr{syscall.CLONE_NEWCGROUP, 0} {
				cands = append(cands, plan{level: levelUserNS, cloneflags: syscall.CLONE_NEWUSER | baseNS | cg, netns: true,
					mount: true, landlock: true, seccomp: true, hostUID: unpriv, hostGID: unprivG, dropUID: -1, dropGID: -1,
					nsByUID: byUID})
			}
		}
	}
	if uid == 0 && min <= levelRootNS {
		for _, cg := range []uintptr{syscall.CLONE_NEWCGROUP, 0} {
			cands = append(cands, plan{level: levelRootNS, cloneflags: baseNS | cg, netns: true,
				mount: true, landlock: true, seccomp: true, hostUID: unpriv, hostGID: unprivG, dropUID: 65534, dropGID: 65534})
		}
	}
	drop := -1
	if uid == 0 {
		drop = 65534
	}
	cands = append(cands, plan{level: levelNone, landlock: true, seccomp: true,
		hostUID: unpriv, hostGID: unprivG, dropUID: drop, dropGID: drop})

	for _, p := range cands {
		rep, err := probeOnceWith(workRoot, p)
		if err != nil {
			key := p.level.String()
			if p.nsByUID {
				key = "userns_owner"
			}
			if _, seen := missing[key]; !seen {
				missing[key] = err.Error()
			}
			continue
		}
		for k, v := range rep.Missing {
			missing[k] = v
		}
		p.mount = p.mount && slices.Contains(rep.Active, "mountns+pivot_root")
		p.seccomp = !hasMissing(rep, "seccomp")
		p.landlock = !hasMissing(rep, "landlock")
		return p, describe(p, rep, missing)
	}
	return plan{level: levelNone, dropUID: -1, dropGID: -1}, Isolation{Level: "none", Missing: missing}
}

func hasMissing(rep *initproc.Report, layer string) bool {
	_, ok := rep.Missing[layer]
	return ok
}

// describe turns a plan and the probe's report into an Isolation.
func describe(p plan, rep *initproc.Report, missing map[string]string) Isolation {
	iso := Isolation{Level: p.level.String(), Missing: missing}
	add := func(name string, ok bool, why string) {
		if ok {
			iso.Active = append(iso.Active, name)
			delete(missing, name)
		} else if _, known := missing[name]; !known {
			missing[name] = why
		}
	}
	add("userns", p.cloneflags&syscall.CLONE_NEWUSER != 0, "user namespaces unavailable")
	add("uid_mapped", p.hostUID != 0, "running as host root")
	switch {
	case p.nsByUID:
		add("userns_owner", true, "")
	case p.level != levelUserNS:
		delete(missing, "userns_owner") // no user namespace to own
	}
	for _, ns := range []struct {
		name string
		flag uintptr
	}{{"pidns", syscall.CLONE_NEWPID}, {"ipcns", syscall.CLONE_NEWIPC}, {"utsns", syscall.CLONE_NEWUTS}, {"cgroupns", syscall.CLONE_NEWCGROUP}} {
		add(ns.name, p.cloneflags&ns.flag != 0, "namespace unavailable")
	}
	add("netns", p.netns, "namespaces unavailable")
	for _, a := range rep.Active {
		iso.Active = append(iso.Active, a)
		delete(missing, strings.SplitN(a, "(", 2)[0])
	}
	iso.Active = append(iso.Active, "rlimits", "clean_env")
	iso.FilesystemIsolated = p.mount || p.landlock
	iso.NetworkIsolated = p.netns || p.seccomp
	if len(missing) == 0 {
		iso.Missing = nil
	}
	return iso
}

// probeOnceWith starts an init in probe mode with plan p and returns its report.
func probeOnceWith(workRoot string, p plan) (*initproc.Report, error) {
	d, err := makeDirs(workRoot, p.hostUID, p.hostGID)
	if err != nil {
		return nil, err
	}
	defer d.remove()
	cfg := initConfig(p, d, p.netns, nil, nil)
	cfg.Probe = true
	c, err := startChild(p, cfg, p.netns, nil, false, nil)
	if err != nil {
		return nil, err
	}
	defer c.closeHostEnds()
	type res struct {
		rep *initproc.Report
		err error
	}
	ch := make(chan res, 1)
	go func() {
		line, err := bufio.NewReader(c.events).ReadBytes('\n')
		if err != nil {
			ch <- res{nil, fmt.Errorf("probe: no report (%v): %s", err, c.diag.String())}
			return
		}
		var rep initproc.Report
		if err := json.Unmarshal(line, &rep); err != nil {
			ch <- res{nil, err}
			return
		}
		ch <- res{&rep, nil}
	}()
	var r res
	select {
	case r = <-ch:
	case <-time.After(10 * time.Second):
		r = res{nil, errors.New("probe: timed out")}
	}
	c.cmd.Process.Kill()
	c.cmd.Wait()
	if r.err == nil && r.rep.Fatal != "" {
		r.err = errors.New(r.rep.Fatal)
	}
	return r.rep, r.err
}

// initConfig builds the init's configuration for one sandbox.
func initConfig(p plan, d dirs, netns bool, roBinds []string, env []string) initproc.Config {
	cfg := initproc.Config{
		Mount:     p.mount,
		RootDir:   d.root,
		WorkDir:   d.work,
		TmpDir:    d.tmp,
		ROBinds:   roBinds,
		TmpBytes:  DefaultTmpSize,
		WorkBytes: DefaultWorkDirSize,
		NetNS:     netns,
		UTS:       p.cloneflags&syscall.CLONE_NEWUTS != 0,
		PidNS:     p.cloneflags&syscall.CLONE_NEWPID != 0,
		DropUID:   p.dropUID,
		DropGID:   p.dropGID,
		Seccomp:   p.seccomp,
		Landlock:  p.landlock,
		Env:       env,
		Dir:       "/work",
	}
	if !netns {
		// Without a network namespace: refuse IP sockets unless the caller
		// asked for the network (set by the caller after this).
		cfg.BlockInet = true
		cfg.LandlockNet = true
	}
	if !p.mount {
		cfg.Dir = d.work
	}
	if p.level == levelUserNS {
		cfg.UserLimits = userNSLimits
	}
	return cfg
}

// userNSLimits bound each sandbox's share of the counters the kernel
// keeps per user namespace and also charges, up the chain, to the user
// that created it: the sandbox's own host uid when the host process is
// root (plan.nsByUID), else the host user, whose budget all its
// sandboxes and its own processes share. Nested namespaces are refused
// outright (seccomp refuses the calls too).
var userNSLimits = map[string]int{
	"max_inotify_instances": 16,
	"max_inotify_watches":   4096,
	"max_fanotify_groups":   4,
	"max_fanotify_marks":    4096,
	"max_user_namespaces":   0,
	"max_pid_namespaces":    0,
	"max_net_namespaces":    0,
	"max_mnt_namespaces":    0,
	"max_ipc_namespaces":    0,
	"max_uts_namespaces":    0,
	"max_cgroup_namespaces": 0,
	"max_time_namespaces":   0,
}
