//go:build linux

package initproc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/ttadev/primitives/sandbox/local/internal/earlyinit"
)

// Main runs the sandbox init and never returns. It must be called before
// the program starts other work, from an init function (the goroutine is
// then locked to the main thread, which is the thread that forks the
// worker and carries the per-thread security state).
func Main() {
	runtime.LockOSThread()
	closeInheritedOnExec()
	events := os.NewFile(FDEvents, "events")
	rep := Report{T: "init", Missing: map[string]string{}}
	send := func() {
		b, _ := json.Marshal(rep)
		events.Write(append(b, '\n'))
	}
	fatal := func(format string, args ...any) {
		rep.Fatal = fmt.Sprintf(format, args...)
		send()
		os.Exit(3)
	}
	raw, err := io.ReadAll(os.NewFile(FDConfig, "config"))
	if err != nil {
		fatal("read config: %v", err)
	}
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		fatal("decode config: %v", err)
	}
	unix.Close(FDConfig)
	if cfg.CgroupNS {
		// The host has moved this process into the sandbox's cgroup before
		// it closed the configuration.
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			fatal("cgroup namespace: %v", err)
		}
	}
	// Nothing inside may read this process's memory through /proc.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	if !cfg.PidNS {
		unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}

	if cfg.Mount {
		// Normally package earlyinit has already pivoted into the new root,
		// before the program's other packages were initialised; buildRoot
		// is the fallback where it cannot (other architectures).
		var err error
		switch {
		case earlyinit.Ran && earlyinit.Err != "":
			err = errors.New(earlyinit.Err)
		case !earlyinit.Ran:
			err = buildRoot(&cfg)
		}
		if err != nil {
			if cfg.Probe {
				rep.Missing["mountns+pivot_root"] = err.Error()
			} else {
				fatal("build root: %v", err)
			}
		} else {
			rep.Active = append(rep.Active, "mountns+pivot_root")
		}
	}
	if cfg.UTS {
		if err := unix.Sethostname([]byte("sandbox")); err != nil {
			rep.Missing["utsns"] = err.Error()
		}
	}
	if cfg.NetNS {
		if err := loopbackUp(); err != nil {
			rep.Missing["netns_loopback"] = err.Error()
		}
	}
	if len(cfg.UserLimits) > 0 {
		if err := setUserLimits(cfg.UserLimits); err != nil {
			if cfg.Probe {
				rep.Missing["userns_limits"] = err.Error()
			} else {
				fatal("user namespace limits: %v", err)
			}
		} else {
			rep.Active = append(rep.Active, "userns_limits")
		}
	}
	// Under memory pressure the kernel's OOM killer takes a sandboxed
	// process first, the largest of them, before any process of the host
	// (the program running the sandbox among them). Inherited by every
	// process of the sandbox; lowering it again needs a capability none of
	// them has.
	if err := os.WriteFile("/proc/self/oom_score_adj", []byte("1000\n"), 0); err != nil {
		rep.Missing["oom_first"] = err.Error()
	} else {
		rep.Active = append(rep.Active, "oom_first")
	}
	if _, failed := rep.Missing["mountns+pivot_root"]; cfg.Mount && !failed {
		// Nothing inside writes to /proc once the limits are set; read-only,
		// no process can write another's memory through /proc/<pid>/mem
		// (or its other files) even where Landlock is missing, so the
		// processes that outlive a stateless call stay as they were.
		const ro = unix.MS_REMOUNT | unix.MS_BIND | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
		if err := unix.Mount("", "/proc", "", ro, ""); err != nil {
			rep.Missing["proc_readonly"] = err.Error()
		} else {
			rep.Active = append(rep.Active, "proc_readonly")
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		rep.Missing["no_new_privs"] = err.Error()
	} else {
		rep.Active = append(rep.Active, "no_new_privs")
	}
	if cfg.Landlock {
		abi, err := applyLandlock(landlockRules(&cfg), cfg.LandlockNet)
		if err != nil {
			rep.Missing["landlock"] = err.Error()
		} else {
			rep.Active = append(rep.Active, fmt.Sprintf("landlock(abi=%d)", abi))
		}
	}
	if err := dropPrivileges(cfg.DropUID, cfg.DropGID); err != nil {
		if cfg.Probe {
			rep.Missing["caps_dropped"] = err.Error()
		} else {
			fatal("drop privileges: %v", err)
		}
	} else {
		rep.Active = append(rep.Active, "caps_dropped")
	}
	if cfg.Seccomp {
		if err := applySeccomp(cfg.BlockInet, cfg.CallNetNS); err != nil {
			rep.Missing["seccomp"] = err.Error()
		} else {
			rep.Active = append(rep.Active, "seccomp")
		}
	}
	send()
	if cfg.Probe {
		os.Exit(0)
	}
	os.Exit(execWorker(&cfg, events))
}

func landlockRules(cfg *Config) []landlockRule {
	work, tmp := "/work", "/tmp"
	if !cfg.Mount {
		work, tmp = cfg.WorkDir, cfg.TmpDir
	}
	rules := []landlockRule{
		{"/", unix.LANDLOCK_ACCESS_FS_READ_DIR},
		{"/usr", accessReadExec}, {"/bin", accessReadExec}, {"/sbin", accessReadExec},
		{"/lib", accessReadExec}, {"/lib64", accessReadExec}, {"/lib32", accessReadExec},
		{"/etc", accessRead}, {"/proc", accessRead},
		{"/dev", accessDev},
		{"/dev/shm", accessWrite}, {work, accessWrite}, {tmp, accessWrite},
	}
	for _, p := range cfg.ROBinds {
		rules = append(rules, landlockRule{p, accessReadExec})
	}
	for _, b := range cfg.Binds {
		path := b.Dst
		if !cfg.Mount {
			path = b.Src
		}
		rules = append(rules, landlockRule{path, accessReadExec})
	}
	if cfg.Mount {
		for _, f := range cfg.Files {
			rules = append(rules, landlockRule{f.Path, accessReadExec})
		}
	}
	return rules
}

// shellInit is process 1 of a sandbox when a POSIX shell is available:
// it starts the worker ("$@"), forwards SIGINT to it, ignores the signals
// the host may send by mistake, reaps orphans (the shell's wait reaps any
// child), and exits as the worker did (128+signal when it was killed),
// which ends every process of the sandbox. The worker restores its own
// SIGINT handling, which a shell leaves ignored in background jobs. The
// shell keeps none of the worker's descriptors.
const shellInit = `trap 'kill -INT $w 2>/dev/null' INT
trap '' TERM HUP QUIT USR1 USR2 PIPE
"$@" & w=$!
exec 0<&- 1>&- 2>&- 3<&- 4>&- 5<&-
while :; do
	wait $w; s=$?
	kill -0 $w 2>/dev/null || exit $s
done`

// execWorker replaces this process with a small init (shellInit, or
// without a shell the interpreter itself, from which worker.py forks the
// worker), which stays as process 1 of the sandbox: no Go runtime stays
// resident in a sandbox. Descriptors 0-4 become /dev/null, stdout,
// stderr, commands and events; every other one is close-on-exec. It
// returns only on failure.
func execWorker(cfg *Config, events *os.File) int {
	devnull, err := unix.Open(os.DevNull, unix.O_RDWR, 0)
	if err != nil {
		return 3
	}
	// In this order no source is overwritten before it is copied: 1 and 2
	// are free, 3 (the configuration) is closed, 4 is copied to 1 first.
	for _, m := range [][2]int{{FDStdout, 1}, {FDStderr, 2}, {FDCmd, 3}, {FDEvents, 4}, {devnull, 0}} {
		if err := unix.Dup3(m[0], m[1], 0); err != nil {
			return 3
		}
	}
	for _, fd := range []int{FDStderr, FDCmd, FDEvents, devnull} {
		if fd > 4 {
			unix.Close(fd)
		}
	}
	if cfg.Worker {
		if err := unix.Dup3(FDWorker, 5, 0); err != nil {
			return 3
		}
		unix.Close(FDWorker)
	}
	if err := unix.Chdir(cfg.Dir); err != nil {
		return 3
	}
	// Dropping to another uid clears the parent-death signal: set it again
	// so the sandbox dies with the host.
	unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	path, argv := cfg.Interpreter, append([]string{"python3"}, cfg.Args...)
	if cfg.Shell != "" {
		// A shell is a far smaller process 1 than a second interpreter.
		path, argv = cfg.Shell, append([]string{"sh", "-c", shellInit, "sh", cfg.Interpreter}, cfg.Args...)
	} else {
		argv = append(argv, "init") // worker.py forks the worker and stays as process 1
	}
	err = unix.Exec(path, argv, cfg.Env)
	b, _ := json.Marshal(Report{T: "init", Fatal: "start interpreter: " + err.Error()})
	unix.Write(4, append(b, '\n'))
	return 3
}

// setUserLimits writes the limits of the sandbox's user namespace.
func setUserLimits(limits map[string]int) error {
	for name, v := range limits {
		if err := os.WriteFile("/proc/sys/user/"+name, []byte(fmt.Sprintf("%d\n", v)), 0); err != nil {
			return err
		}
	}
	return nil
}
