package observability

import "github.com/ttadev/primitives/internal/seal"

// The methods below make Option an option of every constructor of the
// module (see package internal/seal). A package that adds a constructor
// with options of its own adds its marker here.

// ForParallel marks Option as an option of primitives.Parallel.
func (Option) ForParallel(seal.Token) {}

// ForRetry marks Option as an option of recovery.Retry.
func (Option) ForRetry(seal.Token) {}

// ForFallback marks Option as an option of recovery.Fallback.
func (Option) ForFallback(seal.Token) {}

// ForTimeout marks Option as an option of recovery.Timeout.
func (Option) ForTimeout(seal.Token) {}

// ForCircuitBreaker marks Option as an option of recovery.CircuitBreaker.
func (Option) ForCircuitBreaker(seal.Token) {}

// ForCache marks Option as an option of performance.Cache.
func (Option) ForCache(seal.Token) {}

// ForBulkhead marks Option as an option of performance.Bulkhead.
func (Option) ForBulkhead(seal.Token) {}

// ForRateLimit marks Option as an option of performance.RateLimit.
func (Option) ForRateLimit(seal.Token) {}

// ForPool marks Option as an option of sandbox.NewPool.
func (Option) ForPool(seal.Token) {}

// ForCodeExecution marks Option as an option of sandbox.NewCodeExecution.
func (Option) ForCodeExecution(seal.Token) {}

// ForLocal marks Option as an option of local.New.
func (Option) ForLocal(seal.Token) {}

// ForE2BClient marks Option as an option of e2b.NewClient and
// e2b.NewProvider.
func (Option) ForE2BClient(seal.Token) {}

// ForE2BPrimitive marks Option as an option of
// e2b.NewCodeExecutionPrimitive.
func (Option) ForE2BPrimitive(seal.Token) {}

// ForFromEnv marks Option as an option of codeexec.FromEnv.
func (Option) ForFromEnv(seal.Token) {}
