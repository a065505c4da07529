// Command seed runs, in Go, every code example of TTA.dev's page on its
// E2B code-execution primitive (CodeExecutionPrimitive), one subcommand per
// section of the page:
//
//	go run ./examples/seed               # every section, in the page's order
//	go run ./examples/seed basic-execution pattern-1
//	go run ./examples/seed -list         # the sections
//
// Each section runs offline on the local sandbox (sandbox/local): the
// executor comes from codeexec.FromEnv, which picks E2B's cloud only when
// E2B_API_KEY is set. Where the page calls an LLM, a STAND-IN with fixed
// answers takes its place (standin.go); where it talks about E2B's service
// failing, a fake E2B server on loopback (e2btest) plays the service.
//
// Each section's code is one function (listed in lines_test.go), kept as
// close to the page's Python as Go allows; the run* functions around it
// only exercise it and print. docs/seed.md compares the functions' lengths
// with the Python's, and lines_test.go keeps that table true. The page's
// unit test is TestCodeExecutionSuccess in unit_test.go.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ttadev/primitives"
	"github.com/ttadev/primitives/integrations/codeexec"
	"github.com/ttadev/primitives/sandbox"
)

// section is one code example of the page. run gets the shared executor
// and a context carrying the WorkflowContext "exec-123", as the page's
// later sections reuse its `executor` and `context`.
type section struct {
	name, title string
	run         func(ctx context.Context, w io.Writer, executor *sandbox.CodeExecution) error
}

var sections = []section{
	{"basic-config", "Configuration / Basic Configuration", runBasicConfiguration},
	{"advanced-config", "Configuration / Advanced Configuration", runAdvancedConfiguration},
	{"basic-execution", "Usage / Basic Execution", func(ctx context.Context, w io.Writer, _ *sandbox.CodeExecution) error {
		return basicExecution(ctx, w)
	}},
	{"error-handling", "Usage / With Error Handling", withErrorHandling},
	{"install-packages", "Usage / Install Packages", runInstallPackages},
	{"pattern-1", "Composition / Pattern 1: Iterative Code Refinement", runIterativeRefinement},
	{"pattern-2", "Composition / Pattern 2: Test Validation Workflow", runTestValidation},
	{"pattern-3", "Composition / Pattern 3: With Caching", runCaching},
	{"example-1", "Examples / Example 1: Validate Generated Code", runValidateCode},
	{"example-2", "Examples / Example 2: Run Tests", runTests},
	{"authentication", "Authentication / API Key", runAuthentication},
	{"common-errors", "Error Handling / Common Errors", runCommonErrors},
	{"retry", "Error Handling / Retry Strategy", runRetry},
	{"observability", "Observability", func(ctx context.Context, w io.Writer, _ *sandbox.CodeExecution) error {
		return observe(ctx, w)
	}},
}

func main() {
	list := flag.Bool("list", false, "list the sections and exit")
	flag.Parse()
	if *list {
		for _, s := range sections {
			fmt.Printf("%-17s %s\n", s.name, s.title)
		}
		fmt.Printf("%-17s %s\n", "(go test)", "Testing / Unit Tests: unit_test.go")
		return
	}
	if err := run(context.Background(), os.Stdout, flag.Args()...); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

// run runs the named sections (all of them when names is empty) in the
// page's order, each under a heading.
func run(ctx context.Context, w io.Writer, names ...string) error {
	chosen, err := choose(names)
	if err != nil {
		return err
	}
	executor, err := codeexec.FromEnv()
	if err != nil {
		return err
	}
	defer executor.Close(ctx)
	ctx = primitives.WithWorkflow(ctx, primitives.NewWorkflowContext(primitives.CorrelationID("exec-123")))
	for _, s := range chosen {
		fmt.Fprintf(w, "== %s: %s\n", s.name, s.title)
		if err := s.run(ctx, w, executor); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

func choose(names []string) ([]section, error) {
	if len(names) == 0 {
		return sections, nil
	}
	var chosen []section
	for _, n := range names {
		found := false
		for _, s := range sections {
			if s.name == n {
				chosen, found = append(chosen, s), true
			}
		}
		if !found {
			var known []string
			for _, s := range sections {
				known = append(known, s.name)
			}
			return nil, fmt.Errorf("no section %q (known: %s)", n, strings.Join(known, ", "))
		}
	}
	return chosen, nil
}
