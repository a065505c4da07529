package mcpserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// Tool names.
const (
	ToolRunCode      = "run_code"
	ToolWriteFile    = "write_file"
	ToolReadFile     = "read_file"
	ToolResetSession = "reset_session"
)

// RunCodeInput is the input of run_code.
type RunCodeInput struct {
	Code     string  `json:"code" jsonschema:"Python source to run in this session's sandbox; the value of its last expression is returned as the result"`
	Language string  `json:"language,omitempty" jsonschema:"language of the code: python (the default and only one)"`
	Timeout  float64 `json:"timeout,omitempty" jsonschema:"seconds before the cell is stopped; absent or 0 means the server's default"`
}

// RunCodeOutput is the structured result of run_code.
type RunCodeOutput struct {
	Success         bool       `json:"success" jsonschema:"true when the code ran to the end without raising"`
	Stdout          string     `json:"stdout"`
	Stderr          string     `json:"stderr"`
	Result          string     `json:"result,omitempty" jsonschema:"repr of the value of the last expression"`
	Error           *CellError `json:"error,omitempty" jsonschema:"the exception the code raised"`
	ExecutionTimeMS float64    `json:"execution_time_ms"`
	ExecutionCount  int        `json:"execution_count" jsonschema:"the sandbox's cell counter after this cell"`
	Images          []string   `json:"images,omitempty" jsonschema:"MIME types of the images returned as image content, in order"`
	Truncated       bool       `json:"truncated,omitempty" jsonschema:"some output was cut at the server's limit"`
	Note            string     `json:"note,omitempty"`
}

// CellError is an exception raised by a cell.
type CellError struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Traceback string `json:"traceback"`
}

// WriteFileInput is the input of write_file.
type WriteFileInput struct {
	Path     string `json:"path" jsonschema:"file path in the sandbox, relative to its working directory or absolute; missing directories are created"`
	Content  string `json:"content" jsonschema:"the file's content, as text or base64 per encoding"`
	Encoding string `json:"encoding,omitempty" jsonschema:"text (the default, written as UTF-8) or base64 (for binary data)"`
}

// WriteFileOutput is the structured result of write_file.
type WriteFileOutput struct {
	Path  string `json:"path" jsonschema:"absolute path of the file written"`
	Bytes int    `json:"bytes" jsonschema:"bytes written"`
}

// ReadFileInput is the input of read_file.
type ReadFileInput struct {
	Path     string `json:"path" jsonschema:"file path in the sandbox, relative to its working directory or absolute"`
	Encoding string `json:"encoding,omitempty" jsonschema:"text (the default; the file must be UTF-8) or base64"`
}

// ReadFileOutput is the structured result of read_file.
type ReadFileOutput struct {
	Path     string `json:"path" jsonschema:"absolute path of the file read"`
	Encoding string `json:"encoding" jsonschema:"text or base64"`
	Content  string `json:"content"`
	Bytes    int    `json:"bytes" jsonschema:"size of the file in bytes"`
}

// ResetSessionInput is the (empty) input of reset_session.
type ResetSessionInput struct{}

// ResetSessionOutput is the structured result of reset_session.
type ResetSessionOutput struct {
	Replaced bool   `json:"replaced" jsonschema:"a sandbox with state was discarded"`
	Note     string `json:"note"`
}

// toolError is a failure the model reads as the tool's result.
type toolError struct{ msg string }

func (e *toolError) Error() string { return e.msg }

func toolErrorf(format string, args ...any) error {
	return &toolError{msg: fmt.Sprintf(format, args...)}
}

func (s *Server) addTools() {
	mcp.AddTool(s.server, &mcp.Tool{
		Name:        ToolRunCode,
		Title:       "Run Python code",
		Description: "Run a Python cell in this session's sandbox. State (variables, imports, files) persists between calls. Returns stdout, stderr, the value of the last expression, the exception if any, and images (objects with _repr_png_, _repr_jpeg_ or _repr_svg_) as image content. Stdout is streamed as progress notifications while the cell runs.",
	}, instrument(s, ToolRunCode, s.runCode))
	mcp.AddTool(s.server, &mcp.Tool{
		Name:        ToolWriteFile,
		Title:       "Write a file into the sandbox",
		Description: fmt.Sprintf("Write a file (text or base64, at most %d bytes) into this session's sandbox, creating missing directories.", s.cfg.maxFileBytes),
	}, instrument(s, ToolWriteFile, s.writeFile))
	mcp.AddTool(s.server, &mcp.Tool{
		Name:        ToolReadFile,
		Title:       "Read a file from the sandbox",
		Description: fmt.Sprintf("Read a file (at most %d bytes) from this session's sandbox, as text or base64.", s.cfg.maxFileBytes),
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true},
	}, instrument(s, ToolReadFile, s.readFile))
	mcp.AddTool(s.server, &mcp.Tool{
		Name:        ToolResetSession,
		Title:       "Reset the sandbox",
		Description: "Discard this session's sandbox (variables, imports, files, processes) and start a fresh one. A cell still running is stopped.",
	}, instrument(s, ToolResetSession, s.resetSession))
}

// instrument wraps a tool handler in a span and the tool metrics, and turns
// a panic into a tool error.
func instrument[In, Out any](s *Server, tool string, h mcp.ToolHandlerFor[In, Out]) mcp.ToolHandlerFor[In, Out] {
	return func(ctx context.Context, req *mcp.CallToolRequest, in In) (res *mcp.CallToolResult, out Out, err error) {
		start := time.Now()
		ctx, span := s.cfg.tel.StartSpan(ctx, observability.SpanMCPToolCall, attribute.String(observability.AttrMCPTool, tool))
		defer func() {
			if p := recover(); p != nil {
				var zero Out
				res, out = nil, zero
				err = toolErrorf("internal error in %s: %v", tool, p)
			}
			outcome := observability.MCPOutcomeOK
			switch {
			case err != nil && ctx.Err() != nil:
				outcome = observability.MCPOutcomeCanceled
			case err != nil, res != nil && res.IsError:
				outcome = observability.MCPOutcomeToolError
			}
			if span != nil {
				span.SetAttributes(attribute.String(observability.AttrMCPOutcome, outcome))
				observability.End(span, err)
			}
			s.inst.record(ctx, tool, outcome, start)
		}()
		return h(ctx, req, in)
	}
}

// execute runs code on the session's sandbox through its primitive.
func (s *Server) execute(ctx context.Context, ss *mcp.ServerSession, in sandbox.CodeInput) (sandbox.CodeOutput, string, error) {
	sess, err := s.acquire(ss)
	if err != nil {
		return sandbox.CodeOutput{}, "", err
	}
	defer s.release(sess)
	s.mu.Lock()
	run, prevID := sess.run, sess.sandboxID
	s.mu.Unlock()
	if run == nil {
		return sandbox.CodeOutput{}, "", toolErrorf("this session's sandbox was just closed; call again")
	}
	out, err := run.Execute(ctx, in)
	if err != nil {
		return out, "", s.explain(ctx, err, in.Timeout)
	}
	note := ""
	s.mu.Lock()
	if prevID != "" && out.SandboxID != prevID && sess.sandboxID == prevID {
		note = "this cell ran on a new sandbox: the previous one was replaced (after a timeout, crash, cancellation or its maximum age), so earlier variables, imports and files are gone"
	}
	sess.sandboxID = out.SandboxID
	s.mu.Unlock()
	return out, note, nil
}

// explain turns an infrastructure failure into a message the model can act
// on. A cancelled call returns the context's error: its client has gone.
func (s *Server) explain(ctx context.Context, err error, timeout time.Duration) error {
	if timeout == 0 {
		timeout = s.cfg.cellTimeout
	}
	var bad *recovery.InvalidInputError
	var lang *sandbox.UnsupportedLanguageError
	var limit *sandbox.LimitError
	switch {
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case errors.As(err, &bad):
		return toolErrorf("invalid input: %s %s", bad.Field, bad.Reason)
	case errors.As(err, &lang):
		return toolErrorf("language %q is not supported; use python", lang.Language)
	case errors.Is(err, recovery.ErrTimeout):
		return toolErrorf("the cell ran past its timeout of %s and was stopped; the sandbox was replaced, so this session's variables, imports and files are gone", timeout)
	case errors.As(err, &limit):
		return toolErrorf("the cell was stopped: %v; the sandbox was replaced, so this session's variables, imports and files are gone. Use less memory (fewer processes, smaller data) and call again", err)
	case errors.Is(err, sandbox.ErrCrashed):
		return toolErrorf("the sandbox died while running the cell (%v); it has been replaced by a fresh one, so this session's variables, imports and files are gone", err)
	case errors.Is(err, sandbox.ErrClosed):
		return toolErrorf("this session's sandbox was closed (reset or shutdown) while the cell ran; call again")
	}
	return toolErrorf("the sandbox backend failed: %v", err)
}

func (s *Server) runCode(ctx context.Context, req *mcp.CallToolRequest, in RunCodeInput) (*mcp.CallToolResult, RunCodeOutput, error) {
	var zero RunCodeOutput
	if strings.TrimSpace(in.Code) == "" {
		return nil, zero, toolErrorf("invalid input: code is empty")
	}
	if len(in.Code) > s.cfg.maxCodeBytes {
		return nil, zero, toolErrorf("invalid input: code is %d bytes, more than the limit of %d; move data in with write_file", len(in.Code), s.cfg.maxCodeBytes)
	}
	lang := strings.ToLower(strings.TrimSpace(in.Language))
	if lang != "" && lang != sandbox.LanguagePython {
		return nil, zero, toolErrorf("invalid input: language %q is not supported; use python", in.Language)
	}
	timeout, err := s.timeout(in.Timeout)
	if err != nil {
		return nil, zero, err
	}
	if req.Session != nil {
		st := startStreamer(ctx, req.Session, req.Params.GetProgressToken())
		ctx = withStdoutSink(ctx, st.write)
		defer st.stop()
	}
	co, note, err := s.execute(ctx, req.Session, sandbox.CodeInput{Code: in.Code, Timeout: timeout, Language: lang})
	if err != nil {
		return nil, zero, err
	}
	out := RunCodeOutput{
		Success:         co.Success,
		ExecutionTimeMS: co.ExecutionTimeMS,
		ExecutionCount:  co.ExecutionCount,
		Note:            note,
	}
	var cut [4]bool
	out.Stdout, cut[0] = clip(co.Stdout, s.cfg.maxOutputChars)
	out.Stderr, cut[1] = clip(co.Stderr, s.cfg.maxOutputChars)
	out.Result, cut[2] = clip(co.Text(), s.cfg.maxOutputChars)
	if co.ErrorName != "" || !co.Success {
		e := &CellError{Name: co.ErrorName}
		e.Value, _ = clip(co.ErrorValue, s.cfg.maxOutputChars)
		e.Traceback, cut[3] = clip(co.Traceback, s.cfg.maxOutputChars)
		out.Error = e
	}
	out.Truncated = co.Truncated || cut[0] || cut[1] || cut[2] || cut[3]

	var images []mcp.Content
	for _, r := range co.Results {
		for _, img := range []struct{ data, mime string }{{r.PNG, "image/png"}, {r.JPEG, "image/jpeg"}} {
			if img.data == "" {
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(img.data)
			if err != nil {
				continue
			}
			images = append(images, &mcp.ImageContent{Data: raw, MIMEType: img.mime})
			out.Images = append(out.Images, img.mime)
		}
		if r.SVG != "" {
			images = append(images, &mcp.ImageContent{Data: []byte(r.SVG), MIMEType: "image/svg+xml"})
			out.Images = append(out.Images, "image/svg+xml")
		}
	}
	if len(images) == 0 {
		return nil, out, nil // the SDK adds the JSON as text content
	}
	text, err := json.Marshal(out)
	if err != nil {
		return nil, zero, err
	}
	res := &mcp.CallToolResult{Content: append([]mcp.Content{&mcp.TextContent{Text: string(text)}}, images...)}
	return res, out, nil
}

// timeout validates a requested timeout in seconds.
func (s *Server) timeout(sec float64) (time.Duration, error) {
	switch {
	case math.IsNaN(sec) || sec < 0:
		return 0, toolErrorf("invalid input: timeout %v is negative", sec)
	case sec == 0:
		return 0, nil
	case sec > s.cfg.maxCellTimeout.Seconds():
		return 0, toolErrorf("invalid input: timeout %v s is more than the server's maximum of %v s", sec, s.cfg.maxCellTimeout.Seconds())
	}
	return time.Duration(sec * float64(time.Second)), nil
}

// clip cuts s to n characters, marking the cut.
func clip(s string, n int) (string, bool) {
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s, false
	}
	i, count := 0, 0
	for i = range s {
		if count == n {
			break
		}
		count++
	}
	rest := utf8.RuneCountInString(s[i:])
	return s[:i] + fmt.Sprintf("\n[... %d more characters cut]", rest), true
}

func (s *Server) resetSession(ctx context.Context, req *mcp.CallToolRequest, _ ResetSessionInput) (*mcp.CallToolResult, ResetSessionOutput, error) {
	replaced, err := s.reset(req.Session)
	if err != nil {
		return nil, ResetSessionOutput{}, err
	}
	note := "the session had no sandbox yet; the next call starts a fresh one"
	if replaced {
		note = "the sandbox was discarded; the next call runs on a fresh one"
	}
	return nil, ResetSessionOutput{Replaced: replaced, Note: note}, nil
}
