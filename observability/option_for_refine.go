package observability

import "github.com/ttadev/primitives/internal/seal"

// ForRefine marks Option as an option of refine.New.
func (Option) ForRefine(seal.Token) {}
