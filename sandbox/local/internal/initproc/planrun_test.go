//go:build linux

package initproc

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
)

const buildRootEnv = "INITPROC_TEST_BUILD_ROOT"

func TestMain(m *testing.M) {
	if root := os.Getenv(buildRootEnv); root != "" {
		os.Exit(buildRootChild(root))
	}
	os.Exit(m.Run())
}

// buildRootChild runs in fresh user, mount and pid namespaces: it builds
// the sandbox root with the Go-syscall fallback and reports what it sees.
func buildRootChild(root string) int {
	cfg := &Config{Mount: true, RootDir: root, TmpBytes: 1 << 20, WorkBytes: 1 << 20, DropUID: -1, DropGID: -1,
		Files: []File{{Path: "/sandbox/shim/bin/tool", Data: "#!/bin/sh\necho from-shim\n", Mode: 0o755}}}
	if err := buildRoot(cfg); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	entries, err := os.ReadDir("/")
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	fmt.Println("root:", strings.Join(names, " "))
	_, err = os.Stat("/etc/shadow")
	fmt.Println("shadow visible:", err == nil)
	fmt.Println("work writable:", os.WriteFile("/work/x", []byte("x"), 0o644) == nil)
	fmt.Println("usr writable:", os.WriteFile("/usr/x", []byte("x"), 0o644) == nil)
	_, err = os.Stat("/usr/bin/python3")
	fmt.Println("python visible:", err == nil)
	out, err := exec.Command("/sandbox/shim/bin/tool").Output()
	fmt.Printf("file written: %q %v\n", out, err)
	return 0
}

// buildRoot, the fallback for architectures package earlyinit does not
// cover, runs the same mount plan and gives the same root, with the
// configuration's files written in it at their mode.
func TestBuildRootRunsTheMountPlan(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), buildRootEnv+"="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := string(out)
	var root []string
	for _, line := range strings.Split(got, "\n") {
		if rest, ok := strings.CutPrefix(line, "root: "); ok {
			root = strings.Fields(rest)
		}
	}
	for _, want := range []string{"usr", "etc", "work", "tmp", "proc", "dev"} {
		if !slices.Contains(root, want) {
			t.Fatalf("the new root lacks /%s:\n%s", want, got)
		}
	}
	for _, host := range []string{"home", "root", "var"} {
		if slices.Contains(root, host) {
			t.Fatalf("the new root shows the host's /%s:\n%s", host, got)
		}
	}
	for _, line := range []string{"shadow visible: false", "work writable: true", "usr writable: false", "python visible: true", `file written: "from-shim\n" <nil>`} {
		if !strings.Contains(got, line) {
			t.Fatalf("want %q in:\n%s", line, got)
		}
	}
}
