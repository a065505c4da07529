// Package tokens holds Usage, the count of tokens a chat model reports for
// a call. It is a leaf: integrations/llm reports it (llm.Usage) and refine
// adds it up against a budget (refine.Usage), both naming this one type.
package tokens

// Usage counts the tokens of one call, or of several added up, as the
// service reported them. A count the service does not report is 0.
type Usage struct {
	// InputTokens counts the whole prompt, the cached part included (the
	// providers of integrations/llm add back the part Anthropic reports
	// apart), as the gen_ai.usage.input_tokens attribute does.
	InputTokens int64 `json:"input_tokens"`
	// OutputTokens counts the generated tokens.
	OutputTokens int64 `json:"output_tokens"`
	// CacheReadInputTokens counts the prompt tokens read from the prompt
	// cache: part of InputTokens, billed at a lower rate.
	CacheReadInputTokens int64 `json:"cache_read_input_tokens,omitempty"`
	// CacheCreationInputTokens counts the prompt tokens written to the
	// prompt cache: part of InputTokens.
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens,omitempty"`
}

// Add returns the field-by-field sum of u and v, for totals across calls.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		InputTokens:              u.InputTokens + v.InputTokens,
		OutputTokens:             u.OutputTokens + v.OutputTokens,
		CacheReadInputTokens:     u.CacheReadInputTokens + v.CacheReadInputTokens,
		CacheCreationInputTokens: u.CacheCreationInputTokens + v.CacheCreationInputTokens,
	}
}

// Total returns all tokens of u: InputTokens + OutputTokens. The cache
// counts are part of InputTokens and are not added again.
func (u Usage) Total() int64 { return u.InputTokens + u.OutputTokens }
