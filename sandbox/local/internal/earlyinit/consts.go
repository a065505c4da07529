package earlyinit

// Linux constants (the same on every architecture this package supports).
const (
	atFDCWD     = ^uintptr(99) // -100
	atRecursive = 0x8000
	mntDETACH   = 2
	oWRONLY     = 0x1
	oCREAT      = 0x40
	oTRUNC      = 0x200
	oCLOEXEC    = 0x80000
	eINTR       = 4
	eEXIST      = 17
	eNOSYS      = 38
)
