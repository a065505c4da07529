// Command refine runs the generate → execute → fix loop on a real chat
// model: the model writes a Python function, the sandbox runs it with its
// tests, and every failure (the error, its traceback, the output) goes
// back to the model until the tests pass.
//
// Choose the model with environment variables (the first that applies):
//
//	ANTHROPIC_API_KEY=...                   Anthropic (model claude-sonnet-4-5 unless REFINE_MODEL says otherwise)
//	OPENAI_BASE_URL=... REFINE_MODEL=...    any OpenAI-compatible server, e.g. a local Ollama:
//	                                        OPENAI_BASE_URL=http://localhost:11434/v1 REFINE_MODEL=qwen2.5-coder:7b
//	OPENAI_API_KEY=...                      OpenAI (model gpt-4.1-mini unless REFINE_MODEL says otherwise)
//
// and run
//
//	go run ./examples/refine
//
// The code runs on the local sandbox, or on E2B when E2B_API_KEY is set.
// With no model configured the command exits with status 2 and says what
// to set; it never stands in for a model.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/examples/internal/envmodel"
	"github.com/ttadev/primitives/integrations/codeexec"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/refine"
	"github.com/ttadev/primitives/refine/llmgen"
	"github.com/ttadev/primitives/sandbox"
)

// EnvModel names the model; required with OPENAI_BASE_URL.
const EnvModel = "REFINE_MODEL"

// The task given to the model, and the tests its code must pass.
const (
	requirement = "Write a Python function parse_duration(s) that converts a duration such as " +
		"'1h30m', '45s', '2h' or '1h0m5s' (hours, minutes and seconds, each optional but in that order, " +
		"at least one present) into a number of seconds, and raises ValueError for anything else, " +
		"including the empty string and units out of order such as '5s1m'."
	tests = `assert parse_duration('1h30m') == 5400, parse_duration('1h30m')
assert parse_duration('45s') == 45
assert parse_duration('2h') == 7200
assert parse_duration('1h0m5s') == 3605
for bad in ['', 'h', '5s1m', '1x', '1h 30m', '-1h']:
    try:
        parse_duration(bad)
    except ValueError:
        pass
    else:
        raise AssertionError(f'parse_duration({bad!r}) should raise ValueError')
print('all tests passed')`
)

// configError reports a missing configuration: the command exits with 2.
type configError = envmodel.ConfigError

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logs := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(ctx, os.Stdout, logs); err != nil {
		fmt.Fprintln(os.Stderr, "refine:", err)
		var cfg *configError
		if errors.As(err, &cfg) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run is the whole command: the test calls it against a loopback server.
func run(ctx context.Context, w io.Writer, logs *slog.Logger) error {
	model, desc, err := envmodel.FromEnv(EnvModel, "qwen2.5-coder:7b")
	if err != nil {
		return err
	}
	tel := observability.WithLogger(logs)
	exec, err := codeexec.FromEnv(tel, codeexec.WithCodeOptions(sandbox.WithTimeout(20*time.Second)))
	if err != nil {
		return err
	}
	defer exec.Close(context.Background())
	fmt.Fprintf(w, "model: %s\ncode runs on: %s\n\n", desc, exec.Pool().Provider().Name())

	// Rate limits and dropped connections are retried around the model,
	// so they cost no attempt; a failing program costs one.
	resilient := recovery.Retry[llm.Request, llm.Response](model, recovery.MaxRetries(3), recovery.Exponential(), tel)
	// The reply streams to w as the model writes it.
	writer := llmgen.New(resilient, llmgen.OnDelta(func(_ int, delta string) { io.WriteString(w, delta) }))
	// Around it, a step of our own says how the previous attempt failed.
	gen := primitives.Func[refine.Request, refine.Generation](func(ctx context.Context, req refine.Request) (refine.Generation, error) {
		if n := len(req.History); n > 0 {
			fmt.Fprintf(w, "\n\n-- attempt %d failed: %s\n", req.History[n-1].Number, req.History[n-1].Reason)
		}
		fmt.Fprintf(w, "\n-- attempt %d: the model writes\n\n", req.Attempt)
		return writer.Execute(ctx, req)
	})
	loop := refine.New(gen, exec, refine.Tests(tests), refine.MaxAttempts(4), refine.TokenBudget(60_000), tel)

	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	res, err := loop.Execute(ctx, requirement)
	var exhausted *refine.ExhaustedError
	switch {
	case errors.As(err, &exhausted):
		last := exhausted.History[len(exhausted.History)-1]
		fmt.Fprintf(w, "\n\n-- attempt %d failed: %s\n\n", last.Number, last.Reason)
		return err
	case err != nil:
		return err
	}
	fmt.Fprintf(w, "\n\n-- attempt %d passed; the program and its tests printed:\n\n%s\n", res.Attempts, indent(res.Output.Logs))
	fmt.Fprintf(w, "attempts: %d, tokens: %d in, %d out\n", res.Attempts, res.Usage.InputTokens, res.Usage.OutputTokens)
	return nil
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "    " + strings.ReplaceAll(s, "\n", "\n    ") + "\n"
}
