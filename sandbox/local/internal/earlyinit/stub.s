// The declaration of rawSyscall6 has no body: it is linked to
// syscall.RawSyscall6. This file lets the package compile without one.
