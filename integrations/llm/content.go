package llm

import "encoding/json"

// Block is one piece of a message's content: [Text], [Image], [ToolCall]
// or [ToolResult]. The set is closed: only this package's types are
// blocks.
//
// Which block goes where follows the conversation's roles: a user
// message carries Text, Image and ToolResult blocks, an assistant message
// Text and ToolCall blocks. Each provider translates them to its wire
// format (OpenAI's Chat Completions API puts each ToolResult in a message
// of role "tool" of its own; see docs/llm.md).
type Block interface {
	isBlock()
}

// Text is a block of text.
type Text struct {
	Text string
}

// Image is an image given to the model, either inline (Data, with its
// MediaType) or by URL (the service fetches it). Exactly one of Data and
// URL is set.
type Image struct {
	// MediaType is the image's type: "image/png", "image/jpeg",
	// "image/gif" or "image/webp". Required with Data.
	MediaType string
	// Data is the image's bytes (not base64: the provider encodes them).
	Data []byte
	// URL is where the service fetches the image (https, or a data URL).
	URL string
}

// ToolCall is the model asking to run a tool: an assistant's block, and
// an element of [Response].ToolCalls. Its result goes back to the model
// in a [ToolResult] with the same ID in the next user message.
type ToolCall struct {
	// ID identifies the call; the result refers to it.
	ID string
	// Name is the tool's name, one of [Request].Tools.
	Name string
	// Arguments is the JSON object the model wrote as the tool's input.
	// It has not been checked against the tool's schema: models do not
	// always follow it.
	Arguments json.RawMessage
}

// ToolResult is the result of a [ToolCall] given back to the model, in a
// user message.
type ToolResult struct {
	// CallID is the ID of the ToolCall this answers.
	CallID string
	// Content is the result: Text and Image blocks.
	Content []Block
	// IsError tells the model the call failed and Content says why.
	IsError bool
}

func (Text) isBlock()       {}
func (Image) isBlock()      {}
func (ToolCall) isBlock()   {}
func (ToolResult) isBlock() {}

// Tool declares a tool the model may call.
type Tool struct {
	// Name is how the model calls the tool: letters, digits, '_' and '-',
	// at most 64 characters.
	Name string
	// Description tells the model what the tool does and when to use it.
	Description string
	// InputSchema is the JSON Schema of the tool's arguments, an object
	// schema. Nil means an object with no declared properties.
	InputSchema json.RawMessage
}

// ToolChoiceMode says whether and which tool the model must call.
type ToolChoiceMode string

// The modes of [ToolChoice].
const (
	// ToolChoiceAuto lets the model decide (the zero value).
	ToolChoiceAuto ToolChoiceMode = ""
	// ToolChoiceNone forbids tool calls: the model answers in text.
	ToolChoiceNone ToolChoiceMode = "none"
	// ToolChoiceRequired makes the model call at least one tool.
	ToolChoiceRequired ToolChoiceMode = "required"
	// ToolChoiceTool makes the model call the tool named in
	// ToolChoice.Name.
	ToolChoiceTool ToolChoiceMode = "tool"
)

// ToolChoice constrains the model's use of [Request].Tools. The zero
// value is ToolChoiceAuto.
type ToolChoice struct {
	Mode ToolChoiceMode
	// Name is the tool to call, with ToolChoiceTool.
	Name string
}

// ForceTool returns the ToolChoice that makes the model call the named
// tool.
func ForceTool(name string) ToolChoice { return ToolChoice{Mode: ToolChoiceTool, Name: name} }

// JSONSchemaFormat asks for a reply that is one JSON value following
// Schema (OpenAI's response_format of type json_schema, strict;
// Anthropic's structured output). See [Structured] for a typed helper.
type JSONSchemaFormat struct {
	// Name names the schema (OpenAI requires one: letters, digits, '_'
	// and '-'); empty means "response".
	Name string
	// Description tells the model what the value is for.
	Description string
	// Schema is the JSON Schema of the reply.
	Schema json.RawMessage
}

// StopReason is why the model stopped, in terms common to the providers;
// [Response].StopReason keeps the service's own word.
type StopReason string

// The stop reasons a caller can switch on.
const (
	// StopEndTurn: the model finished its answer (Anthropic "end_turn",
	// OpenAI "stop").
	StopEndTurn StopReason = "end_turn"
	// StopToolUse: the model is waiting for the results of its tool
	// calls (Anthropic "tool_use", OpenAI "tool_calls").
	StopToolUse StopReason = "tool_use"
	// StopMaxTokens: the reply reached its token limit (Anthropic
	// "max_tokens", OpenAI "length").
	StopMaxTokens StopReason = "max_tokens"
	// StopSequence: the reply reached one of the request's stop
	// sequences.
	StopSequence StopReason = "stop_sequence"
	// StopRefusal: the model refused (Anthropic "refusal", OpenAI's
	// refusal field). Execute returns a *RefusalError with it.
	StopRefusal StopReason = "refusal"
	// StopContentFilter: the service's content filter cut the reply
	// (OpenAI "content_filter"). Execute returns a *RefusalError with it.
	StopContentFilter StopReason = "content_filter"
	// StopPauseTurn: the service paused a long turn; send the reply back
	// as it is to let the model go on (Anthropic "pause_turn").
	StopPauseTurn StopReason = "pause_turn"
	// StopOther: a reason this package does not know; see
	// Response.StopReason.
	StopOther StopReason = "other"
)
