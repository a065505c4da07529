package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/internal/seal"
	"github.com/ttadev/primitives/observability"
)

// Option configures an [Agent] built by [New]: the options of this file
// and the telemetry option observability.Option (WithTracerProvider,
// WithMeterProvider, WithLogger, WithProviders). Options of other
// constructors do not compile here.
type Option interface {
	ForAgent(seal.Token)
}

type option func(*config)

func (option) ForAgent(seal.Token) {}

// Defaults of an Agent.
const (
	// DefaultName is the agent's name without [Name], as spans and logs
	// show it.
	DefaultName = "agent"
	// DefaultMaxTurns is the turn limit without [MaxTurns].
	DefaultMaxTurns = 20
	// DefaultToolConcurrency is how many tool calls of one reply run at
	// once without [ToolConcurrency].
	DefaultToolConcurrency = 4
)

// ApproveFunc decides whether a tool call may run. It sees each call
// before it runs (arguments as the model wrote them, not yet checked);
// nil lets the call run, an error refuses it: the model gets an error
// result saying the call was refused, with the error's text as the
// reason, and the run goes on. The calls of one reply are shown one at a
// time, in the model's order, on the goroutine that called Execute, so a
// hook may ask a person without locking. A hook that returns because the
// context ended ends the run with the context's cause.
type ApproveFunc func(ctx context.Context, call llm.ToolCall) error

type config struct {
	name          string
	system        string
	model         string
	maxTokens     int
	tools         []Tool
	maxTurns      int
	tokenBudget   int64
	timeBudget    time.Duration
	maxCalls      int
	concurrency   int
	approve       ApproveFunc
	telemetry     observability.Providers
	stopSequences []string
}

// Name names the agent in its spans ("invoke_agent <name>", the
// gen_ai.agent.name attribute), metrics and logs. Default "agent"; an
// empty name panics.
func Name(name string) Option {
	if name == "" {
		panic("agent: Name: name is empty")
	}
	return option(func(c *config) { c.name = name })
}

// System sets the system prompt of every model call.
func System(prompt string) Option {
	return option(func(c *config) { c.system = prompt })
}

// Model sets the model of every call (llm.Request.Model); without it the
// model primitive's own default is used. An empty name panics.
func Model(name string) Option {
	if name == "" {
		panic("agent: Model: name is empty")
	}
	return option(func(c *config) { c.model = name })
}

// MaxTokens bounds each reply (llm.Request.MaxTokens); without it the
// model primitive's default applies. n < 1 panics.
func MaxTokens(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("agent: MaxTokens(%d): must be at least 1", n))
	}
	return option(func(c *config) { c.maxTokens = n })
}

// StopSequences sets the stop sequences of every model call.
func StopSequences(seqs ...string) Option {
	seqs = append([]string(nil), seqs...)
	return option(func(c *config) { c.stopSequences = seqs })
}

// Tools adds tools the model may call; several Tools options add up. A nil
// tool panics; two tools of one name make [New] fail.
func Tools(tools ...Tool) Option {
	for i, t := range tools {
		if isNil(t) {
			panic(fmt.Sprintf("agent: Tools: tool %d is nil", i))
		}
	}
	tools = append([]Tool(nil), tools...)
	return option(func(c *config) { c.tools = append(c.tools, tools...) })
}

// MaxTurns bounds the model calls of a run (default 20). A reply that
// still asks for tools at the last turn ends the run with a *LimitError
// (StopMaxTurns) without running them; a final answer at the last turn is
// a success. n < 1 panics.
func MaxTurns(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("agent: MaxTurns(%d): must be at least 1", n))
	}
	return option(func(c *config) { c.maxTurns = n })
}

// TokenBudget bounds the tokens a run spends, as the model reports them
// (llm.Usage.Total: each call's whole prompt and its reply, summed over
// the calls). It is checked after each reply: a reply that asks for tools
// once the budget is spent ends the run with a *LimitError
// (StopTokenBudget) without running them. A reply that started within the
// budget runs to its end, so the total can pass n by one reply. 0 means
// no budget (the default); n < 0 panics.
func TokenBudget(n int64) Option {
	if n < 0 {
		panic(fmt.Sprintf("agent: TokenBudget(%d): must not be negative", n))
	}
	return option(func(c *config) { c.tokenBudget = n })
}

// TimeBudget bounds the wall-clock time of a run. The model call or tool
// calls running when it passes are cancelled through their context, and
// the run ends with a *LimitError (StopTimeBudget). 0 means no budget
// (the default); d < 0 panics.
func TimeBudget(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("agent: TimeBudget(%s): must not be negative", d))
	}
	return option(func(c *config) { c.timeBudget = d })
}

// MaxToolCallsPerTurn bounds the tool calls one reply may ask for. A reply
// that asks for more ends the run with a *LimitError (StopMaxToolCalls)
// without running any of them. With n = 1 the model is also asked for at
// most one call per reply (llm.Request.NoParallelToolCalls). 0 means no
// bound (the default); n < 0 panics.
func MaxToolCallsPerTurn(n int) Option {
	if n < 0 {
		panic(fmt.Sprintf("agent: MaxToolCallsPerTurn(%d): must not be negative", n))
	}
	return option(func(c *config) { c.maxCalls = n })
}

// ToolConcurrency bounds how many tool calls of one reply run at once
// (default 4). Calls of tools that share state (see [Serial]) run one
// after the other whatever the bound. n < 1 panics.
func ToolConcurrency(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("agent: ToolConcurrency(%d): must be at least 1", n))
	}
	return option(func(c *config) { c.concurrency = n })
}

// Approve sets the hook that sees each tool call before it runs and may
// refuse it (see [ApproveFunc]). A nil hook panics.
func Approve(hook ApproveFunc) Option {
	if hook == nil {
		panic("agent: Approve: hook is nil")
	}
	return option(func(c *config) { c.approve = hook })
}

func newConfig(opts []Option) config {
	c := config{name: DefaultName, maxTurns: DefaultMaxTurns, concurrency: DefaultToolConcurrency}
	for i, o := range opts {
		switch o := o.(type) {
		case option:
			o(&c)
		case observability.Option:
			if o.IsZero() {
				panic(fmt.Sprintf("agent: New: option %d is the zero observability.Option", i))
			}
			o.ApplyTo(&c.telemetry)
		case nil:
			panic(fmt.Sprintf("agent: New: option %d is nil", i))
		default:
			panic(fmt.Sprintf("agent: New: option %d (%T) is not an option of this package", i, o))
		}
	}
	return c
}
