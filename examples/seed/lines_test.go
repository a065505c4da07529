package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pageSections maps each section of the page to the Go function that holds
// its code and to the length of the page's Python. Python lines are the
// non-blank lines of the page's code block that are neither comments nor
// import lines; lines inside a string literal count when not blank (the
// page's own rule for what it shows). 0 means the page shows no code (only
// lists of names).
var pageSections = []struct {
	section, title, function string
	python                   int
}{
	{"basic-config", "Basic Configuration", "basicConfiguration", 5},
	{"advanced-config", "Advanced Configuration", "advancedConfiguration", 7},
	{"basic-execution", "Basic Execution", "basicExecution", 10},
	{"error-handling", "With Error Handling", "withErrorHandling", 4},
	{"install-packages", "Install Packages", "installPackages", 12},
	{"pattern-1", "Pattern 1: Iterative Code Refinement", "generateWorkingCode", 18},
	{"pattern-2", "Pattern 2: Test Validation Workflow", "testValidationWorkflow", 6},
	{"pattern-3", "Pattern 3: With Caching", "cachedExecutor", 5},
	{"example-1", "Example 1: Validate Generated Code", "validateCode", 8},
	{"example-2", "Example 2: Run Tests", "runTests", 11},
	{"authentication", "API Key", "e2bExecutor", 3},
	{"common-errors", "Common Errors (ValueError 2, TimeoutError 5, E2BError 0)", "commonErrors", 7},
	{"retry", "Retry Strategy", "resilientExecutor", 5},
	{"observability", "Observability", "observe", 0},
	{"(go test)", "Unit Tests", "TestCodeExecutionSuccess", 14},
}

// lineCount is the size of one function's body.
type lineCount struct {
	all       int // non-blank, non-comment lines of the body
	propagate int // of which lines only pass an error up: `if err != nil { return ..., err }` and a final `return nil`
}

func (c lineCount) counted() int { return c.all - c.propagate }

// TestSectionLengths keeps each section's Go within 1.2 times its Python,
// and docs/seed.md's table equal to what is measured here.
func TestSectionLengths(t *testing.T) {
	counts := countFunctions(t)
	var table strings.Builder
	table.WriteString("| seed section | subcommand | Go function | Python lines | Go lines | ratio | Go lines with error propagation |\n")
	table.WriteString("|---|---|---|---:|---:|---:|---:|\n")
	for _, s := range pageSections {
		c, ok := counts[s.function]
		if !ok {
			t.Fatalf("no function %s", s.function)
		}
		ratio := "n/a (no code on the page)"
		if s.python > 0 {
			ratio = fmt.Sprintf("%.2f", float64(c.counted())/float64(s.python))
			if float64(c.counted()) > 1.2*float64(s.python) {
				t.Errorf("%s: %d Go lines for %d Python lines, above 1.2 times", s.section, c.counted(), s.python)
			}
		}
		fmt.Fprintf(&table, "| %s | `%s` | `%s` | %d | %d | %s | %d |\n", s.title, s.section, s.function, s.python, c.counted(), ratio, c.all)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "seed.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), table.String()) {
		t.Errorf("docs/seed.md lacks the measured table:\n%s", table.String())
	}
}

// countFunctions measures the body of every function of the package's
// files (tests included).
func countFunctions(t *testing.T) map[string]lineCount {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]lineCount{}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		code := codeLines(fset, src)
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			first, last := fset.Position(fn.Body.Lbrace).Line+1, fset.Position(fn.Body.Rbrace).Line-1
			var c lineCount
			for l := first; l <= last; l++ {
				if code[l] {
					c.all++
				}
			}
			excluded := map[int]bool{}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if s, ok := n.(*ast.IfStmt); ok && propagates(s) {
					from := fset.Position(s.Pos()).Line
					if s.Init != nil { // `if _, err := f(); err != nil {`: the call is code
						from++
					}
					for l := from; l <= fset.Position(s.End()).Line; l++ {
						excluded[l] = true
					}
				}
				return true
			})
			if n := len(fn.Body.List); n > 0 {
				if r, ok := fn.Body.List[n-1].(*ast.ReturnStmt); ok && len(r.Results) == 1 && isIdent(r.Results[0], "nil") {
					excluded[fset.Position(r.Pos()).Line] = true
				}
			}
			for l := range excluded {
				if code[l] {
					c.propagate++
				}
			}
			counts[fn.Name.Name] = c
		}
	}
	return counts
}

// propagates reports whether s is `if err != nil { return ..., err }`.
func propagates(s *ast.IfStmt) bool {
	cond, ok := s.Cond.(*ast.BinaryExpr)
	if !ok || s.Else != nil || cond.Op != token.NEQ || !isIdent(cond.X, "err") || !isIdent(cond.Y, "nil") || len(s.Body.List) != 1 {
		return false
	}
	r, ok := s.Body.List[0].(*ast.ReturnStmt)
	return ok && len(r.Results) > 0 && isIdent(r.Results[len(r.Results)-1], "err")
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// codeLines reports the lines holding a token other than a comment; a
// string literal spanning lines marks those of its lines that are not
// blank.
func codeLines(fset *token.FileSet, src []byte) map[int]bool {
	lines := map[int]bool{}
	var s scanner.Scanner
	file := fset.AddFile("", fset.Base(), len(src))
	s.Init(file, src, nil, scanner.ScanComments)
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			return lines
		}
		if tok == token.COMMENT || (tok == token.SEMICOLON && lit == "\n") {
			continue
		}
		line := file.Position(pos).Line
		if tok == token.STRING && strings.Contains(lit, "\n") {
			for i, text := range strings.Split(lit, "\n") {
				if strings.TrimSpace(text) != "" {
					lines[line+i] = true
				}
			}
			continue
		}
		lines[line] = true
	}
}

// The counter itself: comments, blank lines and error propagation are told
// apart from code.
func TestCountFunctions(t *testing.T) {
	counts := countFunctions(t)
	if c := counts["basicExecution"]; c.all != 18 || c.propagate != 7 {
		t.Errorf("basicExecution: %+v, want 18 lines of which 7 propagate errors (two if-blocks and the final return)", c)
	}
	if c := counts["basicConfiguration"]; c.all != 1 || c.propagate != 0 {
		t.Errorf("basicConfiguration: %+v", c)
	}
}
