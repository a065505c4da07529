// Command testvalidation runs TTA.dev's "test validation workflow" as one
// typed pipeline: generate code → execute its tests → validate the results
// → format a report.
//
//	go run ./examples/testvalidation
//
// In TTA.dev's Python the workflow is written
//
//	generate_code_with_llm >> CodeExecutionPrimitive(...) >> validate_test_results >> format_response
//
// and nothing checks that one step's output is what the next one reads.
// Here it is primitives.Pipe4, and the compiler checks every joint.
//
// It runs offline on the local sandbox. The generator is a STAND-IN that
// returns fixed code for two known tasks (one correct, one with a bug the
// tests catch); put a chat model in its place (see examples/refine) for
// real generation.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	p "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

// Task is the pipeline's input: what to write, and the unittest test case
// that checks it.
type Task struct {
	Name  string
	Tests string
}

// Report is what validation finds in the test run.
type Report struct {
	Passed   bool
	Ran      int
	Failures int
	Errors   int
	Detail   string // the runner's verbose output
	Crash    string // the program's own exception, when the tests could not run
	Duration time.Duration
}

// standIn is the generator of this offline example: fixed code per task,
// in place of a chat model. "slugify" has a bug on purpose.
var standIn = map[string]string{
	"fizzbuzz": `def fizzbuzz(n):
    if n % 15 == 0:
        return 'FizzBuzz'
    if n % 3 == 0:
        return 'Fizz'
    if n % 5 == 0:
        return 'Buzz'
    return str(n)`,
	"slugify": `import re

def slugify(title):
    return re.sub(r'[^a-z0-9]+', '-', title.lower())`,
}

var tasks = []Task{
	{Name: "fizzbuzz", Tests: `class T(unittest.TestCase):
    def test_numbers(self):
        self.assertEqual(fizzbuzz(1), '1')
    def test_multiples(self):
        self.assertEqual([fizzbuzz(n) for n in (3, 5, 15)], ['Fizz', 'Buzz', 'FizzBuzz'])`},
	{Name: "slugify", Tests: `class T(unittest.TestCase):
    def test_words(self):
        self.assertEqual(slugify('Hello World'), 'hello-world')
    def test_edges(self):
        self.assertEqual(slugify('  Go, 1.26!  '), 'go-1-26')`},
}

// runner runs the test case T with unittest's verbose runner on stdout.
const runner = `
import sys, unittest
unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(unittest.defaultTestLoader.loadTestsFromTestCase(T))`

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "testvalidation:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	quiet := observability.WithLogger(slog.New(slog.DiscardHandler))
	provider, err := local.New(quiet)
	if err != nil {
		return err
	}
	defer provider.Close()
	exec := sandbox.NewCodeExecution(provider, sandbox.WithTimeout(20*time.Second), quiet)
	defer exec.Close(context.Background())

	// Step 1: generate (the stand-in) the program and its tests.
	generate := p.Func[Task, sandbox.CodeInput](func(_ context.Context, t Task) (sandbox.CodeInput, error) {
		code, ok := standIn[t.Name]
		if !ok {
			return sandbox.CodeInput{}, &recovery.InvalidInputError{Field: "task", Reason: "the stand-in generator knows no task " + strconv.Quote(t.Name)}
		}
		return sandbox.CodeInput{Code: "import unittest\n\n" + code + "\n\n" + t.Tests + "\n" + runner}, nil
	})
	// Step 2: execute the tests in the sandbox; infrastructure failures are retried.
	execute := recovery.Retry[sandbox.CodeInput, sandbox.CodeOutput](exec, recovery.MaxRetries(2), quiet)
	// Step 3: validate what the test runner printed.
	validate := p.Lift(validateRun)
	// Step 4: format the report.
	format := p.Lift(formatReport)

	// Task → CodeInput → CodeOutput → Report → string, checked by the compiler.
	workflow := p.Pipe4(generate, execute, validate, format)
	for _, t := range tasks {
		text, err := workflow.Execute(context.Background(), t)
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		fmt.Fprintf(w, "== %s: %s", t.Name, text)
	}
	return nil
}

var ranRE = regexp.MustCompile(`(?m)^Ran (\d+) tests? in`)
var failedRE = regexp.MustCompile(`(?m)^FAILED \((?:failures=(\d+))?(?:, )?(?:errors=(\d+))?\)`)

// validateRun reads unittest's verbose output.
func validateRun(out sandbox.CodeOutput) Report {
	r := Report{Detail: out.Stdout, Duration: time.Duration(out.ExecutionTimeMS * float64(time.Millisecond))}
	if !out.Success {
		r.Crash = out.Error
		return r
	}
	if m := ranRE.FindStringSubmatch(out.Stdout); m != nil {
		r.Ran, _ = strconv.Atoi(m[1])
	}
	if m := failedRE.FindStringSubmatch(out.Stdout); m != nil {
		r.Failures, _ = strconv.Atoi(m[1])
		r.Errors, _ = strconv.Atoi(m[2])
	}
	r.Passed = r.Ran > 0 && r.Failures == 0 && r.Errors == 0 && strings.Contains(out.Stdout, "\nOK")
	return r
}

func formatReport(r Report) string {
	var b strings.Builder
	status := "PASS"
	if !r.Passed {
		status = "FAIL"
	}
	fmt.Fprintf(&b, "%s (%d tests, %d failures, %d errors)\n", status, r.Ran, r.Failures, r.Errors)
	if r.Crash != "" {
		fmt.Fprintf(&b, "   the program raised %s before its tests ran\n", r.Crash)
	}
	for _, line := range strings.Split(r.Detail, "\n") {
		if strings.HasSuffix(line, " ... ok") || strings.HasSuffix(line, " ... FAIL") || strings.HasSuffix(line, " ... ERROR") ||
			strings.HasPrefix(line, "AssertionError") {
			fmt.Fprintf(&b, "   %s\n", line)
		}
	}
	return b.String()
}
