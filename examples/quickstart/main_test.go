package main

import (
	"bytes"
	"strings"
	"testing"
)

// The README's main command must keep working: run the quickstart and check
// what it prints.
func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("quickstart failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"active layers: ",
		"== factorial (",
		"   | 120\n",
		"   result: 285\n",
		"   | All tests passed!\n",
		`success=false error="SyntaxError: `,
		"host home visible: False",
		"API keys seen: []",
		"cache: 5 runs, 1 hits; sandboxes created: 1",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
