package sandbox

import (
	"encoding/json"
	"strings"
	"time"
)

// Execution is what one run produced, in E2B's model.
type Execution struct {
	// Stdout and Stderr are the output chunks in arrival order.
	Stdout []OutputMessage `json:"stdout"`
	Stderr []OutputMessage `json:"stderr"`
	// Results holds the value of the last expression (IsMainResult) and
	// any display outputs.
	Results []Result `json:"results"`
	// Error is the user code's error, or nil.
	Error *ExecutionError `json:"error,omitempty"`
	// ExecutionCount is the kernel's execution counter after this run.
	ExecutionCount int `json:"execution_count"`
}

// Text returns the text of the main result (the repr of the last
// expression), or "".
func (e *Execution) Text() string {
	for _, r := range e.Results {
		if r.IsMainResult {
			return r.Text
		}
	}
	return ""
}

// StdoutText joins the stdout chunks.
func (e *Execution) StdoutText() string { return joinChunks(e.Stdout) }

// StderrText joins the stderr chunks.
func (e *Execution) StderrText() string { return joinChunks(e.Stderr) }

func joinChunks(chunks []OutputMessage) string {
	switch len(chunks) {
	case 0:
		return ""
	case 1:
		return chunks[0].Text
	}
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString(c.Text)
	}
	return b.String()
}

// OutputMessage is one chunk of stdout or stderr.
type OutputMessage struct {
	Text      string    `json:"text"`
	Timestamp time.Time `json:"timestamp"`
	Error     bool      `json:"error"` // true for stderr
}

// ExecutionError is an exception raised by the user's code.
type ExecutionError struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Traceback string `json:"traceback"`
}

// String returns "Name: Value", as Python prints the last traceback line.
func (e ExecutionError) String() string {
	if e.Value == "" {
		return e.Name
	}
	return e.Name + ": " + e.Value
}

// Result is one output of an execution: the value of the last expression
// (IsMainResult) or a display output, in one or more formats.
type Result struct {
	IsMainResult bool            `json:"is_main_result"`
	Text         string          `json:"text,omitempty"`
	HTML         string          `json:"html,omitempty"`
	Markdown     string          `json:"markdown,omitempty"`
	SVG          string          `json:"svg,omitempty"`
	PNG          string          `json:"png,omitempty"`  // base64
	JPEG         string          `json:"jpeg,omitempty"` // base64
	PDF          string          `json:"pdf,omitempty"`
	LaTeX        string          `json:"latex,omitempty"`
	JavaScript   string          `json:"javascript,omitempty"`
	JSON         json.RawMessage `json:"json,omitempty"`
	Data         json.RawMessage `json:"data,omitempty"`
	Chart        json.RawMessage `json:"chart,omitempty"`
	Extra        json.RawMessage `json:"extra,omitempty"`
}

// Formats lists the formats present in r, e.g. ["text", "png"].
func (r Result) Formats() []string {
	var f []string
	add := func(name string, present bool) {
		if present {
			f = append(f, name)
		}
	}
	add("text", r.Text != "")
	add("html", r.HTML != "")
	add("markdown", r.Markdown != "")
	add("svg", r.SVG != "")
	add("png", r.PNG != "")
	add("jpeg", r.JPEG != "")
	add("pdf", r.PDF != "")
	add("latex", r.LaTeX != "")
	add("javascript", r.JavaScript != "")
	add("json", len(r.JSON) > 0)
	add("data", len(r.Data) > 0)
	add("chart", len(r.Chart) > 0)
	return f
}
