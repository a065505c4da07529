package observability

import "github.com/ttadev/primitives/internal/seal"

// ForLocalPrimitive marks Option as an option of
// local.NewCodeExecutionPrimitive.
func (Option) ForLocalPrimitive(seal.Token) {}
