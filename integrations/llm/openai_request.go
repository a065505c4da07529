package llm

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/shared"

	"github.com/ttadev/primitives/recovery"
)

// This file translates a Request into the parameters of a Chat Completions
// call, and refuses with *recovery.InvalidInputError, before anything is
// sent, what the API would reject.
//
// The Chat Completions API has no content blocks for tool results: each
// ToolResult of a user message becomes a message of role "tool" of its
// own, and those come first, right after the assistant's message with the
// calls, as the API requires. A tool message carries text only, so the
// images of a result go in one user message after the tool messages,
// each result's images preceded by a line naming its call; the user
// message's own text and images follow in that same message.

// openAIDefaultSchema is sent for a Tool whose InputSchema is nil.
var openAIDefaultSchema = json.RawMessage(`{"type":"object","properties":{}}`)

// Wording of a tool result as the model reads it (documented in docs/llm.md).
const (
	openAIFailedPrefix = "The tool call failed: "
	openAIFailedAlone  = "The tool call failed."
)

func openAIImagesNote(n int) string {
	if n == 1 {
		return "[1 image of this result follows in the next user message]"
	}
	return "[" + strconv.Itoa(n) + " images of this result follow in the next user message]"
}

func openAIImagesLabel(callID string) string {
	return "[images of the result of tool call " + callID + "]"
}

// openAIParams returns the parameters of the call for req, which validate
// has accepted.
func openAIParams(req *Request, model string, maxTokens int, legacyMax bool) (openai.ChatCompletionNewParams, error) {
	n := len(req.Messages)
	if req.System != "" {
		n++
	}
	params := openai.ChatCompletionNewParams{
		Model:    model,
		Messages: make([]openai.ChatCompletionMessageParamUnion, 0, n),
	}
	if req.System != "" {
		params.Messages = append(params.Messages, openai.SystemMessage(req.System))
	}
	var err error
	for i := range req.Messages {
		if params.Messages, err = openAIAppendMessage(params.Messages, i, &req.Messages[i]); err != nil {
			return params, err
		}
	}
	if maxTokens > 0 {
		if legacyMax {
			params.MaxTokens = param.NewOpt(int64(maxTokens))
		} else {
			params.MaxCompletionTokens = param.NewOpt(int64(maxTokens))
		}
	}
	if len(req.StopSequences) > 0 {
		params.Stop = openai.ChatCompletionNewParamsStopUnion{OfStringArray: req.StopSequences}
	}
	if req.Temperature != nil {
		params.Temperature = param.NewOpt(*req.Temperature)
	}
	if params.Tools, err = openAITools(req.Tools); err != nil {
		return params, err
	}
	if params.ToolChoice, err = openAIToolChoice(req.ToolChoice, req.Tools); err != nil {
		return params, err
	}
	if req.NoParallelToolCalls && len(req.Tools) > 0 {
		params.ParallelToolCalls = param.NewOpt(false)
	}
	if req.ResponseFormat != nil {
		if params.ResponseFormat, err = openAIResponseFormat(req.ResponseFormat); err != nil {
			return params, err
		}
	}
	return params, nil
}

func invalidBlock(i, j int, reason string) error {
	return &recovery.InvalidInputError{Field: fmt.Sprintf("Messages[%d].Blocks[%d]", i, j), Reason: reason}
}

func unsupportedBlock(b Block) string {
	if b == nil {
		return "nil block"
	}
	return fmt.Sprintf("unsupported block %T (blocks are Text, Image, ToolCall and ToolResult values, not pointers)", b)
}

// openAIAppendMessage appends the messages that m (the i-th) becomes.
func openAIAppendMessage(dst []openai.ChatCompletionMessageParamUnion, i int, m *Message) ([]openai.ChatCompletionMessageParamUnion, error) {
	if len(m.Blocks) == 0 {
		// The common case: text alone.
		if m.Role == RoleUser {
			return append(dst, openai.UserMessage(m.Content)), nil
		}
		return append(dst, openai.AssistantMessage(m.Content)), nil
	}
	if m.Role == RoleAssistant {
		return openAIAppendAssistant(dst, i, m)
	}
	return openAIAppendUser(dst, i, m)
}

func openAIAppendAssistant(dst []openai.ChatCompletionMessageParamUnion, i int, m *Message) ([]openai.ChatCompletionMessageParamUnion, error) {
	var msg openai.ChatCompletionAssistantMessageParam
	var texts []string
	if m.Content != "" {
		texts = append(texts, m.Content)
	}
	for j, b := range m.Blocks {
		switch b := b.(type) {
		case Text:
			texts = append(texts, b.Text)
		case ToolCall:
			args, err := openAICallArguments(b)
			if err != nil {
				return dst, invalidBlock(i, j, err.Error())
			}
			msg.ToolCalls = append(msg.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
				OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
					ID:       b.ID,
					Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: b.Name, Arguments: args},
				},
			})
		case Image:
			return dst, invalidBlock(i, j, "an assistant message cannot carry an Image (the Chat Completions API takes images from the user only)")
		case ToolResult:
			return dst, invalidBlock(i, j, "a ToolResult belongs in a user message, not an assistant message")
		default:
			return dst, invalidBlock(i, j, unsupportedBlock(b))
		}
	}
	switch {
	case len(texts) == 1:
		msg.Content.OfString = param.NewOpt(texts[0])
	case len(texts) > 1:
		parts := make([]openai.ChatCompletionAssistantMessageParamContentArrayOfContentPartUnion, len(texts))
		for k, t := range texts {
			parts[k] = openai.ChatCompletionAssistantMessageParamContentArrayOfContentPartUnion{
				OfText: &openai.ChatCompletionContentPartTextParam{Text: t}}
		}
		msg.Content.OfArrayOfContentParts = parts
	case len(msg.ToolCalls) == 0:
		// Content is required without tool calls.
		msg.Content.OfString = param.NewOpt("")
	}
	return append(dst, openai.ChatCompletionMessageParamUnion{OfAssistant: &msg}), nil
}

// openAICallArguments returns the arguments of a ToolCall block of the
// conversation as the API's string, after checking the call.
func openAICallArguments(c ToolCall) (string, error) {
	if c.ID == "" {
		return "", fmt.Errorf("ToolCall without an ID (its result refers to it)")
	}
	if c.Name == "" {
		return "", fmt.Errorf("ToolCall %s without a Name", c.ID)
	}
	if len(c.Arguments) == 0 {
		return "{}", nil
	}
	if !json.Valid(c.Arguments) {
		return "", fmt.Errorf("the Arguments of ToolCall %s are not valid JSON", c.ID)
	}
	return string(c.Arguments), nil
}

func openAIAppendUser(dst []openai.ChatCompletionMessageParamUnion, i int, m *Message) ([]openai.ChatCompletionMessageParamUnion, error) {
	var own, resultImages []openai.ChatCompletionContentPartUnionParam
	ownImages, results := false, false
	if m.Content != "" {
		own = append(own, openai.TextContentPart(m.Content))
	}
	for j, b := range m.Blocks {
		switch b := b.(type) {
		case Text:
			own = append(own, openai.TextContentPart(b.Text))
		case Image:
			part, err := openAIImagePart(b)
			if err != nil {
				return dst, invalidBlock(i, j, err.Error())
			}
			own = append(own, part)
			ownImages = true
		case ToolResult:
			if b.CallID == "" {
				return dst, invalidBlock(i, j, "ToolResult without a CallID")
			}
			var text strings.Builder
			var images []openai.ChatCompletionContentPartUnionParam
			for k, c := range b.Content {
				switch c := c.(type) {
				case Text:
					if text.Len() > 0 {
						text.WriteByte('\n')
					}
					text.WriteString(c.Text)
				case Image:
					part, err := openAIImagePart(c)
					if err != nil {
						return dst, invalidBlock(i, j, fmt.Sprintf("Content[%d]: %v", k, err))
					}
					images = append(images, part)
				case ToolCall, ToolResult:
					return dst, invalidBlock(i, j, fmt.Sprintf("Content[%d]: a ToolResult holds Text and Image blocks only", k))
				default:
					return dst, invalidBlock(i, j, fmt.Sprintf("Content[%d]: %s", k, unsupportedBlock(c)))
				}
			}
			content := text.String()
			if len(images) > 0 {
				if content != "" {
					content += "\n"
				}
				content += openAIImagesNote(len(images))
				resultImages = append(resultImages, openai.TextContentPart(openAIImagesLabel(b.CallID)))
				resultImages = append(resultImages, images...)
			}
			if b.IsError {
				if content == "" {
					content = openAIFailedAlone
				} else {
					content = openAIFailedPrefix + content
				}
			}
			dst = append(dst, openai.ToolMessage(content, b.CallID))
			results = true
		case ToolCall:
			return dst, invalidBlock(i, j, "a ToolCall belongs in an assistant message, not a user message")
		default:
			return dst, invalidBlock(i, j, unsupportedBlock(b))
		}
	}
	switch {
	case len(resultImages) == 0 && len(own) == 0:
		if results {
			// Tool results alone: no user message.
			return dst, nil
		}
		return append(dst, openai.UserMessage("")), nil
	case len(resultImages) == 0 && len(own) == 1 && !ownImages:
		return append(dst, openai.UserMessage(own[0].OfText.Text)), nil
	}
	return append(dst, openai.UserMessage(append(resultImages, own...))), nil
}

// openAIMediaTypes are the types of inline images the API takes.
var openAIMediaTypes = [...]string{"image/png", "image/jpeg", "image/gif", "image/webp"}

func openAIImagePart(img Image) (openai.ChatCompletionContentPartUnionParam, error) {
	switch {
	case len(img.Data) > 0 && img.URL != "":
		return openai.ChatCompletionContentPartUnionParam{}, fmt.Errorf("Image with both Data and URL: set one")
	case len(img.Data) > 0:
		supported := false
		for _, t := range openAIMediaTypes {
			supported = supported || img.MediaType == t
		}
		if !supported {
			return openai.ChatCompletionContentPartUnionParam{}, fmt.Errorf("Image with Data needs a MediaType of %s, got %q", strings.Join(openAIMediaTypes[:], ", "), img.MediaType)
		}
		var b strings.Builder
		enc := base64.StdEncoding
		b.Grow(len("data:;base64,") + len(img.MediaType) + enc.EncodedLen(len(img.Data)))
		b.WriteString("data:")
		b.WriteString(img.MediaType)
		b.WriteString(";base64,")
		w := base64.NewEncoder(enc, &b)
		_, _ = w.Write(img.Data)
		_ = w.Close()
		return openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: b.String()}), nil
	case img.URL != "":
		u, err := url.Parse(img.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "data") {
			return openai.ChatCompletionContentPartUnionParam{}, fmt.Errorf("Image URL is not an http(s) or data URL")
		}
		return openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: img.URL}), nil
	}
	return openai.ChatCompletionContentPartUnionParam{}, fmt.Errorf("Image with neither Data nor URL")
}

// openAIValidName reports whether name is 1 to 64 letters, digits, '_'
// and '-', as the API requires of function and schema names.
func openAIValidName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// jsonObject reports whether raw is one valid JSON object.
func jsonObject(raw json.RawMessage) bool {
	s := strings.TrimLeft(string(raw), " \t\r\n")
	return strings.HasPrefix(s, "{") && json.Valid(raw)
}

func openAITools(tools []Tool) ([]openai.ChatCompletionToolUnionParam, error) {
	if len(tools) == 0 {
		return nil, nil
	}
	out := make([]openai.ChatCompletionToolUnionParam, len(tools))
	fns := make([]openai.ChatCompletionFunctionToolParam, len(tools))
	for i := range tools {
		t := &tools[i]
		field := fmt.Sprintf("Tools[%d]", i)
		if !openAIValidName(t.Name) {
			return nil, &recovery.InvalidInputError{Field: field + ".Name",
				Reason: fmt.Sprintf("tool name %q is not 1 to 64 letters, digits, '_' or '-'", t.Name)}
		}
		for k := range i {
			if tools[k].Name == t.Name {
				return nil, &recovery.InvalidInputError{Field: field + ".Name",
					Reason: fmt.Sprintf("tool name %q is also the name of Tools[%d]", t.Name, k)}
			}
		}
		schema := t.InputSchema
		if schema == nil {
			schema = openAIDefaultSchema
		} else if !jsonObject(schema) {
			return nil, &recovery.InvalidInputError{Field: field + ".InputSchema", Reason: "not a JSON object"}
		}
		fn := &fns[i]
		fn.Function.Name = t.Name
		if t.Description != "" {
			fn.Function.Description = param.NewOpt(t.Description)
		}
		// The schema goes as it is, its keys in their order: the SDK's
		// FunctionParameters is a map, which would sort them.
		fn.Function.SetExtraFields(map[string]any{"parameters": schema})
		out[i] = openai.ChatCompletionToolUnionParam{OfFunction: fn}
	}
	return out, nil
}

func openAIToolChoice(tc ToolChoice, tools []Tool) (openai.ChatCompletionToolChoiceOptionUnionParam, error) {
	var none openai.ChatCompletionToolChoiceOptionUnionParam
	if tc.Name != "" && tc.Mode != ToolChoiceTool {
		return none, &recovery.InvalidInputError{Field: "ToolChoice.Name",
			Reason: fmt.Sprintf("a Name goes with ToolChoiceTool (use llm.ForceTool(%q)), not with mode %q", tc.Name, tc.Mode)}
	}
	switch tc.Mode {
	case ToolChoiceAuto:
		// The API's default: auto with tools, none without.
		return none, nil
	case ToolChoiceNone:
		if len(tools) == 0 {
			// Nothing to forbid; the API refuses tool_choice without tools.
			return none, nil
		}
		return openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: param.NewOpt(string(openai.ChatCompletionToolChoiceOptionAutoNone))}, nil
	case ToolChoiceRequired:
		if len(tools) == 0 {
			return none, &recovery.InvalidInputError{Field: "ToolChoice", Reason: "ToolChoiceRequired without Tools"}
		}
		return openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: param.NewOpt(string(openai.ChatCompletionToolChoiceOptionAutoRequired))}, nil
	case ToolChoiceTool:
		if tc.Name == "" {
			return none, &recovery.InvalidInputError{Field: "ToolChoice.Name", Reason: "ToolChoiceTool without a tool name"}
		}
		for _, t := range tools {
			if t.Name == tc.Name {
				return openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: tc.Name}), nil
			}
		}
		return none, &recovery.InvalidInputError{Field: "ToolChoice.Name", Reason: fmt.Sprintf("tool %q is not in Request.Tools", tc.Name)}
	}
	return none, &recovery.InvalidInputError{Field: "ToolChoice.Mode", Reason: fmt.Sprintf("unknown mode %q", tc.Mode)}
}

func openAIResponseFormat(f *JSONSchemaFormat) (openai.ChatCompletionNewParamsResponseFormatUnion, error) {
	var none openai.ChatCompletionNewParamsResponseFormatUnion
	name := f.Name
	if name == "" {
		name = "response"
	}
	if !openAIValidName(name) {
		return none, &recovery.InvalidInputError{Field: "ResponseFormat.Name",
			Reason: fmt.Sprintf("schema name %q is not 1 to 64 letters, digits, '_' or '-'", name)}
	}
	if !jsonObject(f.Schema) {
		return none, &recovery.InvalidInputError{Field: "ResponseFormat.Schema", Reason: "not a JSON object"}
	}
	js := shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: name, Strict: param.NewOpt(true), Schema: f.Schema}
	if f.Description != "" {
		js.Description = param.NewOpt(f.Description)
	}
	return openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: js}}, nil
}
