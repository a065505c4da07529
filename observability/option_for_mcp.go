package observability

import "github.com/ttadev/primitives/internal/seal"

// ForMCPServer marks Option as an option of mcpserver.New.
func (Option) ForMCPServer(seal.Token) {}
