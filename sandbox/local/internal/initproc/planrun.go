//go:build linux

package initproc

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/ttadev/primitives/sandbox/local/internal/earlyinit"
)

// runPlan executes a mount plan (see MountPlan) with the Go runtime's
// system calls: the same operations package earlyinit makes with raw ones
// before the program's other packages are initialised, for where it
// cannot (architectures it has no system call numbers for).
func runPlan(plan []byte) error {
	for len(plan) > 0 {
		op := plan[0]
		plan = plan[1:]
		n := earlyinit.Nargs(op)
		if n < 0 {
			return fmt.Errorf("bad plan: unknown operation %q", op)
		}
		args := make([]string, n)
		for i := range args {
			j := 0
			for j < len(plan) && plan[j] != 0 {
				j++
			}
			if j == len(plan) {
				return fmt.Errorf("bad plan: truncated operation %q", op)
			}
			args[i] = string(plan[:j])
			plan = plan[j+1:]
		}
		if err := runOp(op, args); err != nil {
			return err
		}
	}
	return nil
}

func runOp(op byte, a []string) error {
	num := func(s string) uintptr {
		n, _ := strconv.ParseUint(s, 10, 64)
		return uintptr(n)
	}
	switch op {
	case earlyinit.OpMount:
		if err := unix.Mount(a[0], a[1], a[2], num(a[3]), a[4]); err != nil {
			return fmt.Errorf("mount %s %s on %s: %w", a[2], a[0], a[1], err)
		}
	case earlyinit.OpMkdir:
		if err := unix.Mkdir(a[0], uint32(num(a[1]))); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mkdir %s: %w", a[0], err)
		}
	case earlyinit.OpSymlink:
		if err := unix.Symlink(a[0], a[1]); err != nil {
			return fmt.Errorf("symlink %s: %w", a[1], err)
		}
	case earlyinit.OpCreate:
		if err := os.WriteFile(a[0], nil, 0o644); err != nil {
			return err
		}
	case earlyinit.OpWrite:
		if err := os.WriteFile(a[0], []byte(a[1]), 0o644); err != nil {
			return err
		}
	case earlyinit.OpWriteMode:
		if err := os.WriteFile(a[0], []byte(a[1]), 0o644); err != nil {
			return err
		}
		if err := os.Chmod(a[0], os.FileMode(num(a[2]))); err != nil {
			return err
		}
	case earlyinit.OpRestrict:
		var flags uint
		if a[2] == "1" {
			flags = unix.AT_RECURSIVE
		}
		err := unix.MountSetattr(-1, a[0], flags, &unix.MountAttr{Attr_set: uint64(num(a[1]))})
		if errors.Is(err, unix.ENOSYS) {
			err = unix.Mount("", a[0], "", num(a[3]), "")
		}
		if err != nil {
			return fmt.Errorf("restrict %s: %w", a[0], err)
		}
	case earlyinit.OpChdir:
		if err := unix.Chdir(a[0]); err != nil {
			return fmt.Errorf("chdir %s: %w", a[0], err)
		}
	case earlyinit.OpPivot:
		if err := unix.PivotRoot(".", "."); err != nil {
			return fmt.Errorf("pivot_root: %w", err)
		}
	case earlyinit.OpDetach:
		if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
			return fmt.Errorf("detach old root: %w", err)
		}
	}
	return nil
}
