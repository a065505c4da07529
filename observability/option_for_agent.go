package observability

import "github.com/ttadev/primitives/internal/seal"

// ForAgent marks Option as an option of agent.New.
func (Option) ForAgent(seal.Token) {}
