package observability

import "github.com/ttadev/primitives/internal/seal"

// ForAnthropic marks Option as an option of llm.NewAnthropic.
func (Option) ForAnthropic(seal.Token) {}

// ForOpenAI marks Option as an option of llm.NewOpenAI.
func (Option) ForOpenAI(seal.Token) {}
