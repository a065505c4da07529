package earlyinit

const supported = true

const (
	sysRead         = 0
	sysWrite        = 1
	sysClose        = 3
	sysChdir        = 80
	sysPivotRoot    = 155
	sysMount        = 165
	sysUmount2      = 166
	sysOpenat       = 257
	sysMkdirat      = 258
	sysSymlinkat    = 266
	sysFchmod       = 91
	sysCloseRange   = 436
	sysMountSetattr = 442
)
