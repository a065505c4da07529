// Command agent runs a tool-calling agent on a task: a chat model that
// writes and runs Python in a sandbox session of its own until it can
// answer.
//
//	go run ./examples/agent "What is the 20th Fibonacci number? Compute it."
//
// Choose the model with environment variables (the first that applies):
//
//	ANTHROPIC_API_KEY=...                   Anthropic (model claude-sonnet-4-5 unless AGENT_MODEL says otherwise;
//	                                        ANTHROPIC_BASE_URL overrides the endpoint)
//	OPENAI_BASE_URL=... AGENT_MODEL=...     any OpenAI-compatible server, e.g. a local Ollama:
//	                                        OPENAI_BASE_URL=http://localhost:11434/v1 AGENT_MODEL=qwen2.5:7b
//	OPENAI_API_KEY=...                      OpenAI (model gpt-4.1-mini unless AGENT_MODEL says otherwise)
//
// The model gets the tools run_code, read_file and write_file, which
// share one Python session on the local sandbox for the whole run. When
// the model stops calling tools, its final text is printed on stdout and
// the command exits 0; what it did goes to stderr. A run that reaches its
// turn limit (10) or fails exits 1 with a message; with no model
// configured, or no task, the command exits 2 and says what to give it.
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

	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/examples/internal/envmodel"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox/local"
)

// EnvModel names the model; required with OPENAI_BASE_URL.
const EnvModel = "AGENT_MODEL"

// maxTurns bounds the model calls of a run.
const maxTurns = 10

const system = "You solve the user's task by writing Python and running it with the run_code tool: " +
	"a persistent session in which variables, imports and files are kept between calls. " +
	"Compute rather than guess. Use read_file and write_file for files. " +
	"When you have the answer, reply with it in plain text and call no more tools."

// usageError reports a missing task or configuration: the command exits
// with 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		var usage *usageError
		var cfgErr *envmodel.ConfigError
		if errors.As(err, &usage) || errors.As(err, &cfgErr) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run is the whole command: the answer goes to stdout, the rest to
// stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	model, desc, err := envmodel.FromEnv(EnvModel, "qwen2.5:7b")
	if err != nil {
		return err
	}
	task := strings.TrimSpace(strings.Join(args, " "))
	if task == "" {
		return &usageError{`no task: go run ./examples/agent "TASK"`}
	}
	logs := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tel := observability.WithLogger(logs)
	prov, err := local.New(tel)
	if err != nil {
		return err
	}
	defer prov.Close()
	fmt.Fprintf(stderr, "model: %s; code runs on the local sandbox\n", desc)

	// Rate limits and dropped connections are retried around the model.
	resilient := recovery.Retry[llm.Request, llm.Response](model, recovery.MaxRetries(3), recovery.Exponential(), tel)
	a, err := agent.New(resilient,
		agent.System(system),
		agent.Tools(agent.SandboxTools(prov, agent.CodeTimeout(60*time.Second))...),
		agent.MaxTurns(maxTurns),
		agent.TimeBudget(10*time.Minute),
		agent.Approve(func(_ context.Context, c llm.ToolCall) error {
			fmt.Fprintf(stderr, "-> %s %s\n", c.Name, preview(string(c.Arguments)))
			return nil
		}),
		tel)
	if err != nil {
		return err
	}
	res, err := a.Execute(ctx, agent.Task(task))
	if err != nil {
		var limit *agent.LimitError
		if errors.As(err, &limit) {
			summary(stderr, limit.Result)
		}
		return err
	}
	summary(stderr, res)
	fmt.Fprintln(stdout, res.Text)
	return nil
}

// summary says on stderr what the run did.
func summary(w io.Writer, res agent.Result) {
	failed := 0
	for _, c := range res.Calls {
		if c.IsError {
			failed++
		}
	}
	fmt.Fprintf(w, "turns: %d, tool calls: %d (%d failed), tokens: %d in, %d out\n",
		res.Turns, len(res.Calls), failed, res.Usage.InputTokens, res.Usage.OutputTokens)
}

// preview shortens a tool call's arguments to one line.
func preview(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}
