package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ttadev/primitives/sandbox"
)

// The example runs offline: run it and check the two reports.
func TestTestValidation(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		"== fizzbuzz: PASS (2 tests, 0 failures, 0 errors)\n",
		"   test_multiples (__main__.T.test_multiples) ... ok\n",
		"== slugify: FAIL (2 tests, 1 failures, 0 errors)\n",
		"   test_edges (__main__.T.test_edges) ... FAIL\n",
		"   AssertionError: '-go-1-26-' != 'go-1-26'\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// A program that raises before its tests run is a failed report, not a pass.
func TestValidateCrash(t *testing.T) {
	r := validateRun(sandbox.CodeOutput{Success: false, Error: "NameError: name 'x' is not defined"})
	if r.Passed || !strings.Contains(formatReport(r), "the program raised NameError") {
		t.Fatalf("%+v", r)
	}
	if r := validateRun(sandbox.CodeOutput{Success: true, Stdout: "nothing ran\n"}); r.Passed {
		t.Fatal("no tests ran, yet passed")
	}
}
