//go:build !amd64 && !arm64

package earlyinit

const supported = false

const (
	sysRead, sysWrite, sysClose, sysChdir, sysPivotRoot, sysMount, sysUmount2      = 0, 0, 0, 0, 0, 0, 0
	sysOpenat, sysMkdirat, sysSymlinkat, sysCloseRange, sysMountSetattr, sysFchmod = 0, 0, 0, 0, 0, 0
)
