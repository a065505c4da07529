//go:build linux

package initproc

// etcEntries are the parts of the host's /etc a Python worker needs
// (dynamic linker cache, time zone, name service and TLS configuration,
// Debian's Python configuration, the matplotlibrc where Debian's
// matplotlib reads its defaults, fontconfig's configuration). Everything
// else — shadow, sudoers, ssh keys, machine id, and the host's pip configuration (pip.conf, xdg/pip),
// which may carry an index URL with credentials — is absent from the
// sandbox: its package index is its own setting.
var etcEntries = []string{
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone",
	"nsswitch.conf", "hosts", "host.conf", "resolv.conf", "gai.conf",
	"protocols", "services", "mime.types", "ssl", "ca-certificates",
	"ca-certificates.conf", "alternatives", "os-release",
	"debian_version", "matplotlibrc", "fonts",
}

// topLevel are the root directories bound (or, on merged-/usr systems,
// recreated as symlinks) besides /usr.
var topLevel = []string{"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"}

const sandboxPasswd = "root:x:0:0:sandbox:/work:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
const sandboxGroup = "root:x:0:\nnogroup:x:65534:\n"

// buildRoot assembles the sandbox's root file system on cfg.RootDir and
// pivots into it, by running the same plan package earlyinit runs (see
// MountPlan). It runs in a fresh mount namespace, where package earlyinit
// could not (an architecture it has no system call numbers for).
func buildRoot(cfg *Config) error {
	plan, err := MountPlan(cfg)
	if err != nil {
		return err
	}
	return runPlan(plan)
}

// inodes bounds the files of a tmpfs of size bytes (one per 4 KiB, at
// least 1024): without it a tmpfs allows millions of empty files, each
// costing kernel memory the size limit does not count.
func inodes(size int64) int64 {
	return max(size/4096, 1024)
}
