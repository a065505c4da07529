//go:build linux

package initproc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/ttadev/primitives/sandbox/local/internal/earlyinit"
)

// MountPlan returns, for cfg, the operations that build the sandbox's root
// file system and pivot into it, in the form package earlyinit executes
// before the re-executed program's other packages are initialised. It
// runs on the host, which looks at its own file system (which top-level
// directories are symbolic links, which /etc entries exist) to write the
// plan; the init, whose mount namespace is a copy of the host's, then
// makes the same calls buildRoot would. It returns nil when cfg asks for
// no mount namespace.
func MountPlan(cfg *Config) ([]byte, error) {
	if !cfg.Mount {
		return nil, nil
	}
	var p planWriter
	root := cfg.RootDir
	p.op(earlyinit.OpMount, "", "/", "", num(unix.MS_REC|unix.MS_PRIVATE), "")
	p.op(earlyinit.OpMount, "tmpfs", root, "tmpfs", num(unix.MS_NOSUID|unix.MS_NODEV), "size=1m,mode=0755")
	for _, d := range []string{"usr", "etc", "work", "tmp", "proc", "dev"} {
		p.op(earlyinit.OpMkdir, filepath.Join(root, d), "493")
	}
	for _, t := range topLevel {
		fi, err := os.Lstat(t)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(t)
			if err != nil {
				return nil, err
			}
			p.op(earlyinit.OpSymlink, target, root+t)
			continue
		}
		if fi.IsDir() {
			p.op(earlyinit.OpMkdir, root+t, "493")
			if err := p.bindDir(t, root+t, true); err != nil {
				return nil, err
			}
		}
	}
	if err := p.bindDir("/usr", root+"/usr", true); err != nil {
		return nil, err
	}
	if err := p.etc(root); err != nil {
		return nil, err
	}
	for _, b := range cfg.ROBinds {
		dir := root
		for _, part := range splitPath(b) {
			dir += "/" + part
			p.op(earlyinit.OpMkdir, dir, "493")
		}
		if err := p.bindDir(b, root+b, true); err != nil {
			return nil, err
		}
	}
	for _, b := range cfg.Binds {
		dir := root
		for _, part := range splitPath(b.Dst) {
			dir += "/" + part
			p.op(earlyinit.OpMkdir, dir, "493")
		}
		if err := p.bindDir(b.Src, root+b.Dst, true); err != nil {
			return nil, err
		}
	}
	for _, f := range cfg.Files {
		dir := root
		parts := splitPath(f.Path)
		if len(parts) == 0 {
			return nil, fmt.Errorf("initproc: file path %q", f.Path)
		}
		for _, part := range parts[:len(parts)-1] {
			dir += "/" + part
			p.op(earlyinit.OpMkdir, dir, "493")
		}
		p.op(earlyinit.OpWriteMode, dir+"/"+parts[len(parts)-1], f.Data, strconv.FormatUint(uint64(f.Mode&0o777), 10))
	}
	owner := 0
	if cfg.DropUID >= 0 {
		owner = cfg.DropUID
	}
	p.op(earlyinit.OpMount, "tmpfs", root+"/work", "tmpfs", num(unix.MS_NOSUID|unix.MS_NODEV),
		fmt.Sprintf("size=%d,nr_inodes=%d,mode=0700,uid=%d,gid=%d", cfg.WorkBytes, inodes(cfg.WorkBytes), owner, max(cfg.DropGID, 0)))
	p.op(earlyinit.OpMount, "tmpfs", root+"/tmp", "tmpfs", num(unix.MS_NOSUID|unix.MS_NODEV),
		fmt.Sprintf("size=%d,nr_inodes=%d,mode=1777", cfg.TmpBytes, inodes(cfg.TmpBytes)))
	if err := p.dev(root, cfg.TmpBytes); err != nil {
		return nil, err
	}
	p.op(earlyinit.OpMount, "proc", root+"/proc", "proc", num(unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC), "")
	p.op(earlyinit.OpChdir, root)
	p.op(earlyinit.OpPivot)
	p.op(earlyinit.OpDetach)
	p.op(earlyinit.OpChdir, "/")
	p.op(earlyinit.OpMount, "", "/", "", num(unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV), "")
	return p.b, p.err
}

type planWriter struct {
	b   []byte
	err error
}

func (p *planWriter) op(code byte, args ...string) {
	p.b = append(p.b, code)
	for _, a := range args {
		for i := 0; i < len(a); i++ {
			if a[i] == 0 && p.err == nil {
				p.err = errors.New("initproc: mount plan argument with a NUL byte")
			}
		}
		p.b = append(append(p.b, a...), 0)
	}
}

func num(n uintptr) string { return strconv.FormatUint(uint64(n), 10) }

func splitPath(p string) []string {
	var out []string
	cur := ""
	for _, c := range filepath.Clean(p) {
		if c == '/' {
			if cur != "" {
				out = append(out, cur)
			}
			cur = ""
			continue
		}
		cur += string(c)
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// bindDir is buildRoot's bindDir as plan operations.
func (p *planWriter) bindDir(src, dst string, readOnly bool) error {
	p.op(earlyinit.OpMount, src, dst, "", num(unix.MS_BIND|unix.MS_REC), "")
	return p.restrict(src, dst, readOnly, true)
}

func (p *planWriter) bindFile(src, dst string, readOnly bool) error {
	p.op(earlyinit.OpCreate, dst)
	p.op(earlyinit.OpMount, src, dst, "", num(unix.MS_BIND), "")
	if !readOnly {
		return nil
	}
	return p.restrict(src, dst, true, false)
}

// restrict sets nosuid (and nodev, read-only) on dst, with the remount
// flags for kernels without mount_setattr computed here from src.
func (p *planWriter) restrict(src, dst string, readOnly, nodev bool) error {
	var set uint64 = unix.MOUNT_ATTR_NOSUID
	if nodev {
		set |= unix.MOUNT_ATTR_NODEV
	}
	if readOnly {
		set |= unix.MOUNT_ATTR_RDONLY
	}
	var st unix.Statfs_t
	if err := unix.Statfs(src, &st); err != nil {
		return err
	}
	flags := uintptr(unix.MS_REMOUNT | unix.MS_BIND | unix.MS_NOSUID)
	if readOnly {
		flags |= unix.MS_RDONLY
	}
	if nodev || st.Flags&unix.ST_NODEV != 0 {
		flags |= unix.MS_NODEV
	}
	if st.Flags&unix.ST_NOEXEC != 0 {
		flags |= unix.MS_NOEXEC
	}
	p.op(earlyinit.OpRestrict, dst, strconv.FormatUint(set, 10), "1", num(flags))
	return nil
}

func (p *planWriter) etc(root string) error {
	etc := root + "/etc"
	names := append([]string(nil), etcEntries...)
	if py, _ := filepath.Glob("/etc/python3*"); len(py) > 0 {
		for _, x := range py {
			names = append(names, filepath.Base(x))
		}
	}
	for _, name := range names {
		src := "/etc/" + name
		dst := etc + "/" + name
		fi, err := os.Lstat(src)
		if err != nil {
			continue
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(src)
			if err != nil {
				return err
			}
			p.op(earlyinit.OpSymlink, target, dst)
		case fi.IsDir():
			p.op(earlyinit.OpMkdir, dst, "493")
			if err := p.bindDir(src, dst, true); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := p.bindFile(src, dst, true); err != nil {
				return err
			}
		}
	}
	p.op(earlyinit.OpWrite, etc+"/passwd", sandboxPasswd)
	p.op(earlyinit.OpWrite, etc+"/group", sandboxGroup)
	p.op(earlyinit.OpWrite, etc+"/hostname", "sandbox\n")
	return nil
}

func (p *planWriter) dev(root string, shmBytes int64) error {
	dev := root + "/dev"
	p.op(earlyinit.OpMount, "tmpfs", dev, "tmpfs", num(unix.MS_NOSUID|unix.MS_NOEXEC), "size=64k,mode=0755")
	for _, name := range []string{"null", "zero", "full", "random", "urandom"} {
		if err := p.bindFile("/dev/"+name, dev+"/"+name, false); err != nil {
			return err
		}
	}
	for _, l := range [][2]string{{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}} {
		p.op(earlyinit.OpSymlink, l[1], dev+"/"+l[0])
	}
	p.op(earlyinit.OpMkdir, dev+"/shm", "1023")
	p.op(earlyinit.OpMount, "tmpfs", dev+"/shm", "tmpfs", num(unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC),
		fmt.Sprintf("size=%d,nr_inodes=%d,mode=1777", shmBytes, inodes(shmBytes)))
	p.op(earlyinit.OpMount, "", dev, "", num(unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NOEXEC), "")
	return nil
}
