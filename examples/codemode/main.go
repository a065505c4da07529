// Command codemode runs an agent whose one tool is code mode: the model
// answers by writing a Python program that calls the weather tools as
// functions, so that looking up several cities and converting their
// temperatures costs one model turn instead of one turn per call.
//
//	go run ./examples/codemode "Which is warmer in Fahrenheit, Oslo or Cairo, and by how much?"
//
// Choose the model with environment variables (the first that applies):
//
//	ANTHROPIC_API_KEY=...                   Anthropic (model claude-sonnet-4-5 unless AGENT_MODEL says otherwise;
//	                                        ANTHROPIC_BASE_URL overrides the endpoint)
//	OPENAI_BASE_URL=... AGENT_MODEL=...     any OpenAI-compatible server, e.g. a local Ollama:
//	                                        OPENAI_BASE_URL=http://localhost:11434/v1 AGENT_MODEL=qwen2.5:7b
//	OPENAI_API_KEY=...                      OpenAI (model gpt-4.1-mini unless AGENT_MODEL says otherwise)
//
// The model gets the tool run_program (package agent/codemode), whose
// programs run in stateless sandboxes of the local sandbox and call, on
// the host, the tools list_cities, get_weather and to_fahrenheit over a
// small in-memory dataset. When the model stops calling tools, its final
// text is printed on stdout and the command exits 0; what it did goes to
// stderr. A run that reaches its turn limit (6) or fails exits 1 with a
// message; with no model configured, or no task, the command exits 2 and
// says what to give it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/agent/codemode"
	"github.com/ttadev/primitives/examples/internal/envmodel"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox/local"
)

// EnvModel names the model; required with OPENAI_BASE_URL.
const EnvModel = "AGENT_MODEL"

// maxTurns bounds the model calls of a run.
const maxTurns = 6

const system = "You answer questions about the weather. Use the run_program tool: write one Python program " +
	"that calls the tools it lists (tools.<name>(...), keyword arguments) and computes the answer, " +
	"printing what you need. Prefer one program that chains all the calls over several programs. " +
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
		fmt.Fprintln(os.Stderr, "codemode:", err)
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
		return &usageError{`no task: go run ./examples/codemode "TASK"`}
	}
	logs := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tel := observability.WithLogger(logs)
	prov, err := local.New(tel)
	if err != nil {
		return err
	}
	defer prov.Close()
	prog, err := codemode.New(prov, weatherTools(stderr), codemode.WithTimeout(60*time.Second))
	if err != nil {
		return err
	}
	// Closed before the provider (defers run last in, first out).
	defer prog.Close(context.WithoutCancel(ctx))
	fmt.Fprintf(stderr, "model: %s; programs run on the local sandbox\n", desc)

	// Rate limits and dropped connections are retried around the model.
	resilient := recovery.Retry[llm.Request, llm.Response](model, recovery.MaxRetries(3), recovery.Exponential(), tel)
	a, err := agent.New(resilient,
		agent.System(system),
		agent.Tools(prog),
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

// celsius is the dataset: the current temperature of a few cities.
var celsius = map[string]float64{"Cairo": 31, "Lisbon": 21.5, "Oslo": 4, "Paris": 18, "Reykjavik": -2.5}

type cityIn struct {
	City string `json:"city" jsonschema:"the city's name, e.g. Paris"`
}

type weatherOut struct {
	City    string  `json:"city"`
	Celsius float64 `json:"celsius"`
}

type celsiusIn struct {
	Celsius float64 `json:"celsius" jsonschema:"a temperature in degrees Celsius"`
}

type fahrenheitOut struct {
	Fahrenheit float64 `json:"fahrenheit"`
}

// weatherTools are the tools the programs call; each call is logged on
// stderr, from the host.
func weatherTools(stderr io.Writer) []agent.Tool {
	return []agent.Tool{
		agent.NewTool("list_cities", "The cities with weather data.",
			func(context.Context, struct{}) ([]string, error) {
				fmt.Fprintln(stderr, "   list_cities()")
				return slices.Sorted(maps.Keys(celsius)), nil
			}),
		agent.NewTool("get_weather", "The current temperature of a city, in degrees Celsius.",
			func(_ context.Context, in cityIn) (weatherOut, error) {
				fmt.Fprintf(stderr, "   get_weather(city=%q)\n", in.City)
				c, ok := celsius[in.City]
				if !ok {
					return weatherOut{}, fmt.Errorf("no weather for %q (see list_cities)", in.City)
				}
				return weatherOut{City: in.City, Celsius: c}, nil
			}),
		agent.NewTool("to_fahrenheit", "Converts degrees Celsius to degrees Fahrenheit.",
			func(_ context.Context, in celsiusIn) (fahrenheitOut, error) {
				fmt.Fprintf(stderr, "   to_fahrenheit(celsius=%g)\n", in.Celsius)
				return fahrenheitOut{Fahrenheit: in.Celsius*9/5 + 32}, nil
			}),
	}
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
	if len(s) > 160 {
		return s[:157] + "..."
	}
	return s
}
