package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/openai/openai-go/v3"
)

// This file reads a streamed chat completion. Text deltas go to OnDelta
// as they come. A tool call comes in pieces: its first delta has its
// index, id and name, the following ones only the index and more of the
// arguments; several calls may be interleaved by index. A call is
// complete when the stream has moved past it (a call of a higher index
// has started) and its arguments are a whole JSON value, or when the
// choice finishes; OnToolCall gets each complete call, in index order.

// openAIStreamCall is a tool call being assembled.
type openAIStreamCall struct {
	index   int64
	id      string
	name    string
	args    []byte
	checked int // len(args) when they were last found incomplete
	done    bool
	call    ToolCall
}

// openAIStreamState is what a stream has delivered so far.
type openAIStreamState struct {
	onDelta  func(string)
	onCall   func(ToolCall)
	resp     Response
	id       string
	text     []byte
	refusal  []byte
	calls    []*openAIStreamCall // by index, then by arrival
	emitted  int                 // calls[:emitted] are done
	finished bool
}

func (p *OpenAI) stream(ctx context.Context, params openai.ChatCompletionNewParams, onDelta func(string), onCall func(ToolCall)) (Response, string, error) {
	s := p.chat.NewStreaming(ctx, params)
	defer s.Close()
	st := openAIStreamState{onDelta: onDelta, onCall: onCall}
	for s.Next() {
		if err := st.add(s.Current()); err != nil {
			return Response{}, "", err
		}
	}
	if err := s.Err(); err != nil {
		return Response{}, "", err
	}
	return st.end()
}

// add takes one chunk.
func (st *openAIStreamState) add(chunk openai.ChatCompletionChunk) error {
	if st.id == "" {
		st.id = chunk.ID
	}
	if chunk.Model != "" {
		st.resp.Model = chunk.Model
	}
	for i := range chunk.Choices {
		ch := &chunk.Choices[i]
		if ch.Index != 0 {
			continue
		}
		if d := ch.Delta.Content; d != "" {
			st.text = append(st.text, d...)
			if st.onDelta != nil {
				st.onDelta(d)
			}
		}
		st.refusal = append(st.refusal, ch.Delta.Refusal...)
		for k := range ch.Delta.ToolCalls {
			if err := st.addCall(&ch.Delta.ToolCalls[k]); err != nil {
				return err
			}
		}
		if err := st.emit(false); err != nil {
			return err
		}
		if ch.FinishReason != "" {
			st.resp.StopReason = ch.FinishReason
			st.finished = true
			if len(st.refusal) == 0 && ch.FinishReason != "content_filter" {
				if err := st.emit(true); err != nil {
					return err
				}
			}
		}
	}
	if chunk.JSON.Usage.Valid() {
		st.resp.Usage = openAIUsage(chunk.Usage)
	}
	return nil
}

// addCall takes one piece of a tool call.
func (st *openAIStreamState) addCall(d *openai.ChatCompletionChunkChoiceDeltaToolCall) error {
	var c *openAIStreamCall
	pos := len(st.calls) // where a new call goes: after the calls of its index and lower
	for k := len(st.calls) - 1; k >= 0; k-- {
		if st.calls[k].index == d.Index {
			c = st.calls[k]
			break
		}
		if st.calls[k].index < d.Index {
			break
		}
		pos = k
	}
	if c != nil && d.ID != "" && c.id != "" && d.ID != c.id {
		// A server that numbers every call 0 (older Ollama): a new id
		// starts a new call.
		c = nil
	}
	if c == nil {
		if pos < st.emitted {
			return &ResponseError{Provider: ProviderOpenAI,
				Err: fmt.Errorf("tool call of index %d started after the calls of higher index were complete", d.Index)}
		}
		c = &openAIStreamCall{index: d.Index}
		st.calls = append(st.calls, nil)
		copy(st.calls[pos+1:], st.calls[pos:])
		st.calls[pos] = c
	}
	if c.id == "" {
		c.id = d.ID
	}
	if name := d.Function.Name; name != "" {
		switch c.name {
		case "":
			c.name = name
		case name:
		default:
			return &ResponseError{Provider: ProviderOpenAI,
				Err: fmt.Errorf("tool call %s is named %q, then %q", c.id, c.name, name)}
		}
	}
	if args := d.Function.Arguments; args != "" {
		if c.done {
			if strings.TrimSpace(args) == "" {
				return nil
			}
			return &ResponseError{Provider: ProviderOpenAI,
				Err: fmt.Errorf("tool call %s (%s) got more arguments after they were complete", c.id, c.name)}
		}
		c.args = append(c.args, args...)
	}
	return nil
}

// emit passes the complete calls to onCall, in order: at the end, every
// call (whose arguments must then be valid); before, those the stream has
// moved past whose arguments are whole.
func (st *openAIStreamState) emit(final bool) error {
	for st.emitted < len(st.calls) {
		c := st.calls[st.emitted]
		if !final {
			if st.emitted == len(st.calls)-1 || len(c.args) == c.checked {
				// Not passed yet, or no new arguments since they were
				// found incomplete.
				return nil
			}
			if !json.Valid(c.args) {
				c.checked = len(c.args)
				return nil
			}
		}
		args, err := openAIArguments(c.id, c.name, string(c.args))
		if err != nil {
			return err
		}
		if c.id == "" || c.name == "" {
			return &ResponseError{Provider: ProviderOpenAI,
				Err: fmt.Errorf("tool call of index %d has no id or no name", c.index)}
		}
		c.call = ToolCall{ID: c.id, Name: c.name, Arguments: args}
		c.done = true
		st.emitted++
		if st.onCall != nil {
			st.onCall(c.call)
		}
	}
	return nil
}

// end returns the Response once the stream is over.
func (st *openAIStreamState) end() (Response, string, error) {
	if !st.finished {
		// Every server sends a finish_reason in the last chunk of
		// choices; a stream without one was cut short.
		return Response{}, "", fmt.Errorf("stream ended before a finish_reason: %w", io.ErrUnexpectedEOF)
	}
	resp := st.resp
	resp.Stop = openAIStop(resp.StopReason)
	resp.Text = string(st.text)
	n := len(st.calls)
	if len(st.text) > 0 {
		n++
	}
	if n > 0 {
		resp.Content = make([]Block, 0, n)
	}
	if len(st.text) > 0 {
		resp.Content = append(resp.Content, Text{Text: resp.Text})
	}
	if err := openAIRefusal(&resp, string(st.refusal)); err != nil {
		return Response{}, "", err
	}
	if err := st.emit(true); err != nil {
		return Response{}, "", err
	}
	if len(st.calls) > 0 {
		resp.ToolCalls = make([]ToolCall, len(st.calls))
		for k, c := range st.calls {
			resp.ToolCalls[k] = c.call
			resp.Content = append(resp.Content, c.call)
		}
	}
	return resp, st.id, nil
}
