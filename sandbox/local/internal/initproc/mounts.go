//go:build linux

package initproc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// etcEntries are the parts of the host's /etc a Python worker needs
// (dynamic linker cache, time zone, name service and TLS configuration,
// Debian's Python configuration). Everything else — shadow, sudoers, ssh
// keys, machine id — is absent from the sandbox.
var etcEntries = []string{
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone",
	"nsswitch.conf", "hosts", "host.conf", "resolv.conf", "gai.conf",
	"protocols", "services", "mime.types", "ssl", "ca-certificates",
	"ca-certificates.conf", "alternatives", "pip.conf", "os-release",
	"debian_version",
}

// topLevel are the root directories bound (or, on merged-/usr systems,
// recreated as symlinks) besides /usr.
var topLevel = []string{"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"}

const sandboxPasswd = "root:x:0:0:sandbox:/work:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
const sandboxGroup = "root:x:0:\nnogroup:x:65534:\n"

// buildRoot assembles the sandbox's root file system on cfg.RootDir and
// pivots into it. It runs in a fresh mount namespace.
func buildRoot(cfg *Config) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	root := cfg.RootDir
	if err := unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m,mode=0755"); err != nil {
		return fmt.Errorf("mount root tmpfs: %w", err)
	}
	for _, d := range []string{"usr", "etc", "work", "tmp", "proc", "dev"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	for _, p := range topLevel {
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, root+p); err != nil {
				return err
			}
			continue
		}
		if fi.IsDir() {
			if err := bindDir(p, root+p, true); err != nil {
				return err
			}
		}
	}
	if err := bindDir("/usr", root+"/usr", true); err != nil {
		return err
	}
	if err := buildEtc(root); err != nil {
		return err
	}
	for _, p := range cfg.ROBinds {
		if err := os.MkdirAll(root+p, 0o755); err != nil {
			return err
		}
		if err := bindDir(p, root+p, true); err != nil {
			return err
		}
	}
	for _, b := range cfg.Binds {
		if err := os.MkdirAll(root+b.Dst, 0o755); err != nil {
			return err
		}
		if err := bindDir(b.Src, root+b.Dst, true); err != nil {
			return err
		}
	}
	// /work is a tmpfs of bounded size and file count, not a directory of
	// the host's disk: code cannot fill the host's file system.
	owner := 0
	if cfg.DropUID >= 0 {
		owner = cfg.DropUID
	}
	workOpts := fmt.Sprintf("size=%d,nr_inodes=%d,mode=0700,uid=%d,gid=%d", cfg.WorkBytes, inodes(cfg.WorkBytes), owner, max(cfg.DropGID, 0))
	if err := unix.Mount("tmpfs", root+"/work", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, workOpts); err != nil {
		return fmt.Errorf("mount /work: %w", err)
	}
	tmpOpts := fmt.Sprintf("size=%d,nr_inodes=%d,mode=1777", cfg.TmpBytes, inodes(cfg.TmpBytes))
	if err := unix.Mount("tmpfs", root+"/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, tmpOpts); err != nil {
		return fmt.Errorf("mount /tmp: %w", err)
	}
	if err := buildDev(root, cfg.TmpBytes); err != nil {
		return err
	}
	if err := unix.Mount("proc", root+"/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	if err := unix.Chdir(root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("remount root read-only: %w", err)
	}
	return nil
}

// inodes bounds the files of a tmpfs of size bytes (one per 4 KiB, at
// least 1024): without it a tmpfs allows millions of empty files, each
// costing kernel memory the size limit does not count.
func inodes(size int64) int64 {
	return max(size/4096, 1024)
}

func buildEtc(root string) error {
	etc := root + "/etc"
	names := append([]string(nil), etcEntries...)
	if py, _ := filepath.Glob("/etc/python3*"); len(py) > 0 {
		for _, p := range py {
			names = append(names, filepath.Base(p))
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
			if err := os.Symlink(target, dst); err != nil {
				return err
			}
		case fi.IsDir():
			if err := os.Mkdir(dst, 0o755); err != nil {
				return err
			}
			if err := bindDir(src, dst, true); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := bindFile(src, dst, true); err != nil {
				return err
			}
		}
	}
	if err := os.WriteFile(etc+"/passwd", []byte(sandboxPasswd), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(etc+"/group", []byte(sandboxGroup), 0o644); err != nil {
		return err
	}
	return os.WriteFile(etc+"/hostname", []byte("sandbox\n"), 0o644)
}

func buildDev(root string, shmBytes int64) error {
	dev := root + "/dev"
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "size=64k,mode=0755"); err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	for _, name := range []string{"null", "zero", "full", "random", "urandom"} {
		if err := bindFile("/dev/"+name, dev+"/"+name, false); err != nil {
			return err
		}
	}
	links := map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
	}
	for name, target := range links {
		if err := os.Symlink(target, dev+"/"+name); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dev+"/shm", 0o1777); err != nil {
		return err
	}
	opts := fmt.Sprintf("size=%d,nr_inodes=%d,mode=1777", shmBytes, inodes(shmBytes))
	if err := unix.Mount("tmpfs", dev+"/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	return unix.Mount("", dev, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NOEXEC, "")
}

// bindDir binds src on dst (recursively); read-only binds also get nosuid
// and nodev on every submount.
func bindDir(src, dst string, readOnly bool) error {
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	return restrict(src, dst, readOnly, true)
}

func bindFile(src, dst string, readOnly bool) error {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	f.Close()
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	if !readOnly {
		return nil
	}
	return restrict(src, dst, true, false)
}

func restrict(src, dst string, readOnly, nodev bool) error {
	var set uint64 = unix.MOUNT_ATTR_NOSUID
	if nodev {
		set |= unix.MOUNT_ATTR_NODEV
	}
	if readOnly {
		set |= unix.MOUNT_ATTR_RDONLY
	}
	attr := unix.MountAttr{Attr_set: set}
	err := unix.MountSetattr(-1, dst, unix.AT_RECURSIVE, &attr)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("restrict %s: %w", dst, err)
	}
	// Kernels before 5.12: remount the top mount, keeping the flags the
	// source mount has locked.
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
	if err := unix.Mount("", dst, "", flags, ""); err != nil {
		return fmt.Errorf("remount %s: %w", dst, err)
	}
	return nil
}
