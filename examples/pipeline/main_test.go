package main

import (
	"io"
	"os"
	"strings"
	"testing"
)

// Run the example as main does and check what it prints.
func TestPipeline(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()
	main()
	w.Close()
	os.Stdout = stdout
	out, _ := io.ReadAll(r)
	for _, want := range []string{
		`9 distinct words, "the" appears 3 times`,
		"57 characters, 2 lines",
		"looks like prose",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
