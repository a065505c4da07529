package local

import "errors"

// ErrUnsupportedPlatform is returned by [New] (and so by
// [NewCodeExecutionPrimitive]) on systems other than Linux: the local
// sandbox is built from Linux namespaces, seccomp and Landlock. Elsewhere
// use the E2B backend (integrations/codeexec picks it when E2B_API_KEY is
// set). It is not retryable.
var ErrUnsupportedPlatform = errors.New("local: the local sandbox needs Linux; set E2B_API_KEY to use E2B")
