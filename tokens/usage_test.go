package tokens_test

import (
	"encoding/json"
	"testing"

	"github.com/ttadev/primitives/tokens"
)

func TestAddAndTotal(t *testing.T) {
	a := tokens.Usage{InputTokens: 100, OutputTokens: 20, CacheReadInputTokens: 60, CacheCreationInputTokens: 10}
	b := tokens.Usage{InputTokens: 7, OutputTokens: 3, CacheReadInputTokens: 1}
	sum := a.Add(b)
	if sum != (tokens.Usage{InputTokens: 107, OutputTokens: 23, CacheReadInputTokens: 61, CacheCreationInputTokens: 10}) {
		t.Fatalf("sum = %+v", sum)
	}
	if sum.Total() != 130 {
		t.Fatalf("total = %d, want 130 (the cache counts are part of the input)", sum.Total())
	}
}

func TestJSON(t *testing.T) {
	b, err := json.Marshal(tokens.Usage{InputTokens: 5, OutputTokens: 2})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"input_tokens":5,"output_tokens":2}` {
		t.Fatalf("json = %s", b)
	}
	var u tokens.Usage
	if err := json.Unmarshal([]byte(`{"input_tokens":9,"output_tokens":4,"cache_read_input_tokens":3,"cache_creation_input_tokens":1}`), &u); err != nil {
		t.Fatal(err)
	}
	if u != (tokens.Usage{InputTokens: 9, OutputTokens: 4, CacheReadInputTokens: 3, CacheCreationInputTokens: 1}) {
		t.Fatalf("decoded %+v", u)
	}
}
