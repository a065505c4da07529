package agent

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/sandbox"
)

// Names of the built-in sandbox tools.
const (
	ToolRunCode   = "run_code"
	ToolReadFile  = "read_file"
	ToolWriteFile = "write_file"
)

// Defaults of the built-in sandbox tools.
const (
	// DefaultCodeTimeout bounds one run_code call without [CodeTimeout].
	DefaultCodeTimeout = 30 * time.Second
	// DefaultMaxOutput is the number of characters of each text run_code
	// and read_file return (stdout, stderr, the result, a file's text)
	// without [MaxOutput].
	DefaultMaxOutput = 10_000
	// DefaultMaxFileBytes is the largest file read_file reads and
	// write_file writes without [MaxFileBytes].
	DefaultMaxFileBytes = 512 << 10
	// maxImages bounds the images one run_code call returns.
	maxImages = 8
)

// SandboxOption configures [SandboxTools].
type SandboxOption interface {
	forSandboxTools()
}

type sandboxOption func(*sandboxConfig)

func (sandboxOption) forSandboxTools() {}

type sandboxConfig struct {
	create    sandbox.CreateOptions
	timeout   time.Duration
	maxOutput int
	maxFile   int
}

// CodeTimeout bounds each run_code call (default 30 s). Code that runs
// past it is stopped and the model told; the session is restarted. d < 1
// ms panics.
func CodeTimeout(d time.Duration) SandboxOption {
	if d < time.Millisecond {
		panic(fmt.Sprintf("agent: CodeTimeout(%s): must be at least a millisecond", d))
	}
	return sandboxOption(func(c *sandboxConfig) { c.timeout = d })
}

// MaxOutput sets how many characters of each text the tools return to the
// model (default 10,000): a longer stdout, stderr, result or file is cut
// in its middle, keeping its start and its end, with a note of how much
// was cut. n < 1 panics.
func MaxOutput(n int) SandboxOption {
	if n < 1 {
		panic(fmt.Sprintf("agent: MaxOutput(%d): must be at least 1", n))
	}
	return sandboxOption(func(c *sandboxConfig) { c.maxOutput = n })
}

// MaxFileBytes sets the largest file read_file reads and write_file writes
// (default 512 KiB); a larger one is refused with an error result. n < 1
// panics.
func MaxFileBytes(n int) SandboxOption {
	if n < 1 {
		panic(fmt.Sprintf("agent: MaxFileBytes(%d): must be at least 1", n))
	}
	return sandboxOption(func(c *sandboxConfig) { c.maxFile = n })
}

// SandboxCreateOptions sets how the session's sandbox is created (its
// template, environment, network access, lifetime). Stateless is ignored:
// the session keeps its state between calls.
func SandboxCreateOptions(o sandbox.CreateOptions) SandboxOption {
	o.Stateless = false
	return sandboxOption(func(c *sandboxConfig) { c.create = o })
}

// sandboxTools is the state the three tools share: the provider and the
// configuration. A run's session is kept in the run's scope under the
// *sandboxTools, which is also the tools' serial key.
type sandboxTools struct {
	provider sandbox.Provider
	cfg      sandboxConfig
}

// SandboxTools returns the built-in tools run_code, read_file and
// write_file on provider (the local sandbox, E2B, or any other). They
// share one Python session per run of the agent: created at the first
// call of a run, kept for the whole run (variables, imports and files
// persist from call to call) and closed when the run ends, on every path
// (an answer, a limit, an error, a cancellation, a panic). Their calls run
// one at a time in the model's order (they are [Serial]). Called outside
// an agent's run, each call gets a session of its own.
//
// run_code ({"code": "..."}) runs Python and returns, as JSON text,
// stdout, stderr, the value of the last expression (result) and, when the
// code raised, the exception's name, value and traceback; images the code
// displays (objects with a PNG or JPEG representation) and matplotlib
// figures left open (which are then closed) follow as image blocks, at
// most 8. An exception of the code is a normal result, not an error
// result: the tool did its job, and the model reads what its code did, as
// the module treats every user-code failure as a result. Code that runs
// past its time limit, goes over a limit of the sandbox (*sandbox.LimitError,
// such as the local sandbox's memory budget) or makes the interpreter die
// (os._exit, a fatal signal) is the code's failure too: the model gets an
// error result saying so and that the session was restarted, its state
// lost, and the next call gets a fresh session. A sandbox that cannot be
// created, or any other failure of the sandbox, is a failure of
// infrastructure: the run ends with it.
//
// read_file ({"path": "..."}) returns a file of the session: an image
// (PNG, JPEG, GIF, WebP) as an image block, UTF-8 text as text, other
// bytes as base64. write_file ({"path": "...", "content": "...",
// "encoding": "text" or "base64"}) writes one, creating missing
// directories. Both move the bytes through Python cells in base64, so any
// content is safe, and are bounded by MaxFileBytes.
//
// SandboxTools panics when provider is nil or an option is nil.
func SandboxTools(provider sandbox.Provider, opts ...SandboxOption) []Tool {
	if provider == nil {
		panic("agent: SandboxTools: provider is nil")
	}
	cfg := sandboxConfig{timeout: DefaultCodeTimeout, maxOutput: DefaultMaxOutput, maxFile: DefaultMaxFileBytes}
	for i, o := range opts {
		so, ok := o.(sandboxOption)
		if !ok || so == nil {
			panic(fmt.Sprintf("agent: SandboxTools: option %d is nil", i))
		}
		so(&cfg)
	}
	st := &sandboxTools{provider: provider, cfg: cfg}
	return []Tool{
		serialTool{key: st, Tool: newTypedTool(ToolRunCode,
			"Run Python code in a persistent session: variables, imports and files are kept from call to call for the whole task. "+
				"Returns JSON with stdout, stderr, the repr of the last expression's value (result) and, if the code raised, "+
				"the error's name, value and traceback. Images the code displays and matplotlib figures left open come back as images. "+
				fmt.Sprintf("Each call may run for %s.", cfg.timeout),
			st.runCode, nil)},
		serialTool{key: st, Tool: newTypedTool(ToolReadFile,
			fmt.Sprintf("Read a file of the Python session (at most %d bytes): images come back as images, UTF-8 text as text, other bytes as base64.", cfg.maxFile),
			st.readFile, nil)},
		serialTool{key: st, Tool: newTypedTool(ToolWriteFile,
			fmt.Sprintf("Write a file into the Python session (at most %d bytes), creating missing directories.", cfg.maxFile),
			st.writeFile, nil)},
	}
}

type runCodeIn struct {
	Code string `json:"code" jsonschema:"the Python code to run"`
}

type readFileIn struct {
	Path string `json:"path" jsonschema:"the file's path, absolute or relative to the session's working directory"`
}

type writeFileIn struct {
	Path     string `json:"path" jsonschema:"the file's path, absolute or relative to the session's working directory"`
	Content  string `json:"content" jsonschema:"the file's content: text, or base64 with encoding base64"`
	Encoding string `json:"encoding,omitempty" jsonschema:"text (the default, written as UTF-8) or base64 (binary content)"`
}

func (st *sandboxTools) runCode(ctx context.Context, in runCodeIn) ([]llm.Block, error) {
	if strings.TrimSpace(in.Code) == "" {
		return nil, &ToolError{Message: "the code is empty"}
	}
	var out []llm.Block
	err := st.withSession(ctx, func(s *session) (err error) {
		out, err = s.runCode(ctx, in.Code)
		return err
	})
	return out, err
}

func (st *sandboxTools) readFile(ctx context.Context, in readFileIn) ([]llm.Block, error) {
	if err := checkPath(in.Path); err != nil {
		return nil, err
	}
	var out []llm.Block
	err := st.withSession(ctx, func(s *session) (err error) {
		out, err = s.readFile(ctx, in.Path)
		return err
	})
	return out, err
}

func (st *sandboxTools) writeFile(ctx context.Context, in writeFileIn) (string, error) {
	if err := checkPath(in.Path); err != nil {
		return "", err
	}
	data := []byte(in.Content)
	switch strings.ToLower(strings.TrimSpace(in.Encoding)) {
	case "", "text", "utf-8", "utf8":
	case "base64":
		var err error
		if data, err = base64.StdEncoding.DecodeString(strings.TrimSpace(in.Content)); err != nil {
			return "", &ToolError{Message: "the content is not valid base64: " + err.Error(), Err: err}
		}
	default:
		return "", &ToolError{Message: fmt.Sprintf("encoding %q is neither text nor base64", in.Encoding)}
	}
	if len(data) > st.cfg.maxFile {
		return "", &ToolError{Message: fmt.Sprintf("the content is %d bytes, more than the %d bytes write_file writes", len(data), st.cfg.maxFile)}
	}
	var out string
	err := st.withSession(ctx, func(s *session) (err error) {
		out, err = s.writeFile(ctx, in.Path, data)
		return err
	})
	return out, err
}

// withSession runs f on the run's session: the one in the run's scope, or
// outside a run a session of its own, closed afterwards.
func (st *sandboxTools) withSession(ctx context.Context, f func(*session) error) error {
	if sc := scopeFrom(ctx); sc != nil {
		s := sc.load(st, func() (any, func(context.Context) error) {
			s := &session{st: st}
			return s, s.close
		}).(*session)
		s.mu.Lock()
		defer s.mu.Unlock()
		return f(s)
	}
	s := &session{st: st}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		defer cancel()
		_ = s.close(cctx)
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(s)
}

// checkPath refuses a path no file can have.
func checkPath(p string) error {
	switch {
	case strings.TrimSpace(p) == "":
		return &ToolError{Message: "the path is empty"}
	case len(p) > 4096:
		return &ToolError{Message: fmt.Sprintf("the path is %d bytes long, more than 4096", len(p))}
	case strings.ContainsRune(p, 0):
		return &ToolError{Message: "the path contains a NUL byte"}
	case !utf8.ValidString(p):
		return &ToolError{Message: "the path is not valid UTF-8"}
	}
	return nil
}
