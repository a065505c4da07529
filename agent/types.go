package agent

import (
	"encoding/json"
	"time"

	"github.com/ttadev/primitives/integrations/llm"
)

// Input is what a run starts from: a task, a conversation to continue, or
// both (the task is then the conversation's next user message).
type Input struct {
	// Task is the task in words, sent as a user message after Messages.
	Task string
	// Images go with the task, in the same user message.
	Images []llm.Image
	// Messages is a conversation to continue, oldest first: typically
	// the Messages of an earlier Result. It is copied, never modified. It
	// should end with a user message (or tool results) unless Task is
	// set.
	Messages []llm.Message
}

// Task returns the Input of a run on a task in words, with optional
// images.
func Task(text string, images ...llm.Image) Input {
	return Input{Task: text, Images: images}
}

// Stop says why a run ended.
type Stop string

// The values of Stop. The first three end a run with a Result; the others
// are limits, which end it with a *LimitError.
const (
	// StopEndTurn: the model answered without calling tools.
	StopEndTurn Stop = "end_turn"
	// StopMaxTokens: the model's final answer was cut at its token limit
	// (see MaxTokens); Result.Text holds what it wrote.
	StopMaxTokens Stop = "max_tokens"
	// StopSequence: the final answer reached one of the stop sequences
	// the model was given.
	StopSequence Stop = "stop_sequence"

	// StopMaxTurns: the model asked for more after its last allowed turn
	// (MaxTurns).
	StopMaxTurns Stop = "max_turns"
	// StopTokenBudget: the tokens reported reached the TokenBudget while
	// the model still asked for tools.
	StopTokenBudget Stop = "token_budget"
	// StopTimeBudget: the run's TimeBudget passed.
	StopTimeBudget Stop = "time_budget"
	// StopMaxToolCalls: one reply asked for more tool calls than
	// MaxToolCallsPerTurn allows.
	StopMaxToolCalls Stop = "max_tool_calls"
)

// Result is what a run produced.
type Result struct {
	// Text is the model's final answer (the text of its last reply).
	Text string
	// Messages is the whole conversation: the input's messages, the task,
	// then every reply and every tool result, in order. It can be given
	// back as Input.Messages to continue the conversation.
	Messages []llm.Message
	// Calls are the tool calls made, in the order of the model's replies
	// (and within a reply, the order the model wrote them).
	Calls []Call
	// Usage is the tokens reported over every model call of the run.
	Usage llm.Usage
	// Turns is the number of model calls made.
	Turns int
	// Stop says why the run ended.
	Stop Stop
}

// Call records one tool call of a run and its outcome.
type Call struct {
	// Turn is the number of the turn whose reply asked for the call, from
	// 1.
	Turn int
	// ID is the model's identifier of the call.
	ID string
	// Name is the tool called.
	Name string
	// Arguments is the JSON the model wrote.
	Arguments json.RawMessage
	// Content is the result as the model received it (text and images).
	Content []llm.Block
	// IsError reports that the model was told the call failed.
	IsError bool
	// Err is why the call failed: a *ToolError for a failure the model
	// read (a denied call matches ErrDenied, a call of an unknown tool
	// ErrUnknownTool), or the infrastructure error that ended the run.
	// It is nil for a call that succeeded.
	Err error
	// Duration is how long the call ran (0 for a call that never started:
	// denied or of an unknown tool).
	Duration time.Duration
}
