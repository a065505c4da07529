package earlyinit

const supported = true

const (
	sysRead         = 63
	sysWrite        = 64
	sysClose        = 57
	sysChdir        = 49
	sysPivotRoot    = 41
	sysMount        = 40
	sysUmount2      = 39
	sysOpenat       = 56
	sysMkdirat      = 34
	sysSymlinkat    = 36
	sysFchmod       = 52
	sysCloseRange   = 436
	sysMountSetattr = 442
)
