// Command quickstart runs real Python through a typed, resilient pipeline on
// the embedded local sandbox: no account, no API key, no network.
//
//	go run ./examples/quickstart
//
// The pipeline is TTA.dev's composition, Retry(Cache(CodeExecution)):
// infrastructure failures are retried, identical code is served from the
// cache, and failures of the user's code come back as results.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	p "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/performance"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	quiet := slog.New(slog.DiscardHandler)
	provider, err := local.New(observability.WithLogger(quiet))
	if err != nil {
		return err
	}
	defer provider.Close()

	iso := provider.Isolation()
	fmt.Fprintf(w, "local sandbox: %s, isolation level %q\n", provider.Interpreter(), iso.Level)
	fmt.Fprintf(w, "active layers: %s\n\n", strings.Join(iso.Active, ", "))

	exec := sandbox.NewCodeExecution(provider,
		sandbox.WithTimeout(10*time.Second),
		observability.WithLogger(quiet))
	defer exec.Close(context.Background())

	cached := performance.CacheBy(exec, func(in sandbox.CodeInput) string { return in.Code }, performance.TTL(time.Hour))
	defer cached.Close()
	pipeline := recovery.Retry(cached, recovery.MaxRetries(3), recovery.Exponential())

	ctx := p.WithWorkflow(context.Background(), p.NewWorkflowContext(p.CorrelationID("quickstart")))
	cells := []struct{ title, code string }{
		{"factorial", "def factorial(n):\n    return 1 if n <= 1 else n * factorial(n-1)\n\nprint(factorial(5))"},
		{"last expression", "sum(i * i for i in range(10))"},
		{"tests", "def add(a, b):\n    return a + b\n\nassert add(1, 2) == 3\nassert add(-1, 1) == 0\nprint('All tests passed!')"},
		{"user error", "print('missing quote)"},
		{"the host is out of sight", "import os\nprint('root dir:', sorted(os.listdir('/')))\nprint('host home visible:', os.path.exists('/root'))\nprint('API keys seen:', [k for k in os.environ if 'KEY' in k])"},
		{"factorial again (cached)", "def factorial(n):\n    return 1 if n <= 1 else n * factorial(n-1)\n\nprint(factorial(5))"},
	}
	for _, cell := range cells {
		start := time.Now()
		out, err := pipeline.Execute(ctx, sandbox.CodeInput{Code: cell.code})
		if err != nil {
			return fmt.Errorf("%s: %w", cell.title, err)
		}
		// A cached output keeps the execution time of the run that made it.
		fmt.Fprintf(w, "== %s (%.1f ms; executed in %.1f ms)\n", cell.title,
			float64(time.Since(start).Microseconds())/1000, out.ExecutionTimeMS)
		switch {
		case !out.Success:
			fmt.Fprintf(w, "   success=false error=%q\n", out.Error)
		case out.Text() != "":
			fmt.Fprintf(w, "   result: %s\n", out.Text())
		default:
			for _, line := range strings.Split(strings.TrimSpace(out.Logs), "\n") {
				fmt.Fprintf(w, "   | %s\n", line)
			}
		}
	}
	st := cached.Stats()
	fmt.Fprintf(w, "\ncache: %d runs, %d hits; sandboxes created: %d\n", st.Loads, st.Hits, exec.Pool().Stats().Created)
	return nil
}
