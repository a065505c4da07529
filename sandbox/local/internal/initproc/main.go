package initproc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

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
		if err := applySeccomp(cfg.BlockInet); err != nil {
			rep.Missing["seccomp"] = err.Error()
		} else {
			rep.Active = append(rep.Active, "seccomp")
		}
	}
	send()
	if cfg.Probe {
		os.Exit(0)
	}
	os.Exit(runWorker(&cfg, events))
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
	return rules
}

// runWorker starts the interpreter with the sandbox's descriptors, stays
// as process 1 (reaping orphans and forwarding SIGINT) and returns the
// worker's exit code when it exits.
func runWorker(cfg *Config, events *os.File) int {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 3
	}
	files := []*os.File{devnull, os.NewFile(FDStdout, "stdout"), os.NewFile(FDStderr, "stderr"),
		os.NewFile(FDCmd, "cmd"), events}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	proc, err := os.StartProcess(cfg.Interpreter, append([]string{"python3"}, cfg.Args...), &os.ProcAttr{
		Dir:   cfg.Dir,
		Env:   cfg.Env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		b, _ := json.Marshal(Report{T: "init", Fatal: "start interpreter: " + err.Error()})
		events.Write(append(b, '\n'))
		return 3
	}
	for _, f := range files {
		f.Close()
	}
	pid := proc.Pid
	go func() {
		for s := range sigs {
			if s == syscall.SIGINT {
				syscall.Kill(pid, syscall.SIGINT)
			}
		}
	}()
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 3
		}
		if wpid != pid {
			continue
		}
		if !cfg.PidNS {
			killDescendants()
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
}

// killDescendants kills the worker's leftovers when there is no pid
// namespace to do it: as a child subreaper this process has inherited them.
func killDescendants() {
	for range 3 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/children", unix.Gettid()))
		if err != nil || len(b) == 0 {
			return
		}
		var pid int
		for _, f := range splitFields(string(b)) {
			if _, err := fmt.Sscan(f, &pid); err == nil {
				unix.Kill(pid, unix.SIGKILL)
			}
		}
		for {
			if _, err := unix.Wait4(-1, nil, unix.WNOHANG, nil); err != nil {
				break
			}
		}
	}
}

func splitFields(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' || s[i] == '\n' {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	return out
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
