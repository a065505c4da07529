package agent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// session is the Python session of one run: a sandbox created at the
// first call, replaced after the model's code killed it, closed when the
// run ends. Its methods are called with mu held.
type session struct {
	st     *sandboxTools
	mu     sync.Mutex
	sb     sandbox.Sandbox
	closed bool
}

// close closes the sandbox, if any; the session refuses calls afterwards.
func (s *session) close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.sb == nil {
		return nil
	}
	err := s.sb.Close(ctx)
	s.sb = nil
	return err
}

func (s *session) runOptions() sandbox.RunOptions {
	return sandbox.RunOptions{Timeout: s.st.cfg.timeout, Language: sandbox.LanguagePython}
}

// ensure returns the session's sandbox, creating it (with the helper
// module) when there is none. Its errors are failures of infrastructure.
func (s *session) ensure(ctx context.Context) (sandbox.Sandbox, error) {
	if s.closed {
		return nil, sandbox.ErrClosed
	}
	if s.sb != nil {
		return s.sb, nil
	}
	sb, err := s.st.provider.Create(ctx, s.st.cfg.create)
	if err != nil {
		return nil, err
	}
	s.sb = sb
	if err := s.install(ctx); err != nil {
		s.discard(ctx)
		return nil, err
	}
	return sb, nil
}

func (s *session) install(ctx context.Context) error {
	exec, err := s.sb.Run(ctx, installCell, s.runOptions())
	if err != nil {
		return err
	}
	if exec.Error != nil {
		return fmt.Errorf("agent: installing the sandbox tools' helper module: %s", exec.Error)
	}
	return nil
}

// discard closes the sandbox after a failure; the next call gets a new
// one.
func (s *session) discard(ctx context.Context) {
	if s.sb == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	_ = s.sb.Close(cctx)
	s.sb = nil
}

// failure classifies an error of a Run. The caller's context ending is
// returned as its cause. What the model's code did to its sandbox — ran
// past its time limit, went over a limit of the sandbox, killed the
// interpreter — is a *ToolError the model reads (with detail, which
// run_code sets to its report of the partial output), and the session is
// restarted. Anything else is a failure of infrastructure, returned as it
// is.
func (s *session) failure(ctx context.Context, err error, detail func(note string) string) error {
	s.discard(ctx)
	if c := cause(ctx); c != nil {
		return c
	}
	const restarted = " The session was restarted: its variables, imports and files are gone."
	var limit *sandbox.LimitError
	var crash *sandbox.CrashError
	var note string
	switch {
	case errors.Is(err, recovery.ErrTimeout):
		note = fmt.Sprintf("The code ran past its time limit of %s and was stopped.", s.st.cfg.timeout) + restarted
	case errors.As(err, &limit):
		note = "The sandbox was stopped: " + limit.Error() + "." + restarted
	case errors.As(err, &crash):
		note = "The Python interpreter died (" + crash.Reason + "), e.g. by os._exit or a fatal signal." + restarted
	case errors.Is(err, sandbox.ErrCrashed):
		note = "The Python interpreter died, e.g. by os._exit or a fatal signal." + restarted
	default:
		return err
	}
	msg := note
	if detail != nil {
		msg = detail(note)
	}
	return &ToolError{Message: msg, Err: err}
}

// helper runs a cell calling a helper function and decodes its reply into
// v. An exception of the helper (a missing file) is returned as the
// *sandbox.ExecutionError; a Go error is a *ToolError (the session was
// restarted) or a failure of infrastructure.
func (s *session) helper(ctx context.Context, code string, v any) (*sandbox.ExecutionError, error) {
	for attempt := 0; ; attempt++ {
		sb, err := s.ensure(ctx)
		if err != nil {
			return nil, err
		}
		exec, err := sb.Run(ctx, code, s.runOptions())
		if err != nil {
			return nil, s.failure(ctx, err, nil)
		}
		if e := exec.Error; e != nil {
			// The model's code may have dropped the module from
			// sys.modules: install it again, once.
			if attempt == 0 && e.Name == "ModuleNotFoundError" && strings.Contains(e.Value, helperModule) {
				if err := s.install(ctx); err != nil {
					return nil, s.failure(ctx, err, nil)
				}
				continue
			}
			return e, nil
		}
		for _, r := range exec.Results {
			if r.IsMainResult && len(r.JSON) > 0 {
				if err := json.Unmarshal(r.JSON, v); err != nil {
					return nil, fmt.Errorf("agent: the sandbox's reply to a helper call could not be decoded: %w", err)
				}
				return nil, nil
			}
		}
		return nil, errors.New("agent: the sandbox did not reply to a helper call (no JSON result)")
	}
}

// codeReport is what run_code tells the model, as JSON.
type codeReport struct {
	Success bool       `json:"success"`
	Stdout  string     `json:"stdout,omitempty"`
	Stderr  string     `json:"stderr,omitempty"`
	Result  string     `json:"result,omitempty"`
	Error   *codeError `json:"error,omitempty"`
	// Images is the number of image blocks after the text.
	Images int    `json:"images,omitempty"`
	Note   string `json:"note,omitempty"`
}

type codeError struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Traceback string `json:"traceback,omitempty"`
}

func (r *codeReport) text() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(r) // strings and a bool only: cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}

// report converts an execution (possibly partial) and collects the images
// of its results.
func (s *session) report(exec *sandbox.Execution) (codeReport, []llm.Block) {
	rep := codeReport{Success: true}
	if exec == nil {
		return codeReport{}, nil
	}
	max := s.st.cfg.maxOutput
	rep.Stdout = clip(exec.StdoutText(), max)
	rep.Stderr = clip(exec.StderrText(), max)
	rep.Result = clip(exec.Text(), max)
	if e := exec.Error; e != nil {
		rep.Success = false
		rep.Error = &codeError{Name: e.Name, Value: clip(e.Value, max), Traceback: clip(e.Traceback, max)}
	}
	var images []llm.Block
	for _, r := range exec.Results {
		if img, ok := resultImage(r); ok {
			images = append(images, img)
		}
	}
	return rep, images
}

// resultImage decodes the PNG or JPEG representation of a result.
func resultImage(r sandbox.Result) (llm.Image, bool) {
	for _, f := range []struct{ data, mediaType string }{{r.PNG, "image/png"}, {r.JPEG, "image/jpeg"}} {
		if f.data == "" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(f.data))
		if err == nil && len(b) > 0 {
			return llm.Image{MediaType: f.mediaType, Data: b}, true
		}
	}
	return llm.Image{}, false
}

func (s *session) runCode(ctx context.Context, code string) ([]llm.Block, error) {
	sb, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	exec, err := sb.Run(ctx, code, s.runOptions())
	if err != nil {
		partial, _ := s.report(exec)
		partial.Success = false
		return nil, s.failure(ctx, err, func(note string) string {
			partial.Note = note
			return partial.text()
		})
	}
	rep, images := s.report(exec)
	dropped := 0
	if len(images) > maxImages {
		dropped, images = len(images)-maxImages, images[:maxImages]
	}
	if dropped > 0 {
		rep.Note = strings.TrimSpace(rep.Note + " " + strconv.Itoa(dropped) + " more images were left out: at most " + strconv.Itoa(maxImages) + " come back per call.")
	}
	rep.Images = len(images)
	out := make([]llm.Block, 0, 1+len(images))
	out = append(out, llm.Text{Text: rep.text()})
	return append(out, images...), nil
}

func (s *session) readFile(ctx context.Context, path string) ([]llm.Block, error) {
	var reply struct {
		Path string `json:"path"`
		Size int    `json:"size"`
		Data string `json:"data"`
	}
	pyErr, err := s.helper(ctx, helperCall("read_file", b64Literal([]byte(path)), strconv.Itoa(s.st.cfg.maxFile)), &reply)
	if err != nil {
		return nil, err
	}
	if pyErr != nil {
		return nil, &ToolError{Message: "reading " + path + " failed: " + pyErr.String()}
	}
	data, err := base64.StdEncoding.DecodeString(reply.Data)
	if err != nil {
		return nil, fmt.Errorf("agent: read_file: the sandbox's reply is not base64: %w", err)
	}
	if mt := imageType(data); mt != "" {
		return []llm.Block{
			llm.Text{Text: fmt.Sprintf("%s (%s, %d bytes):", reply.Path, mt, len(data))},
			llm.Image{MediaType: mt, Data: data},
		}, nil
	}
	max := s.st.cfg.maxOutput
	if utf8.Valid(data) {
		if len(data) == 0 {
			return []llm.Block{llm.Text{Text: fmt.Sprintf("%s is empty.", reply.Path)}}, nil
		}
		return []llm.Block{llm.Text{Text: clip(string(data), max)}}, nil
	}
	return []llm.Block{llm.Text{Text: fmt.Sprintf("%s is binary (%d bytes); its content in base64:\n%s",
		reply.Path, len(data), clip(base64.StdEncoding.EncodeToString(data), max))}}, nil
}

func (s *session) writeFile(ctx context.Context, path string, data []byte) (string, error) {
	var reply struct {
		Path string `json:"path"`
		Size int    `json:"size"`
	}
	pyErr, err := s.helper(ctx, helperCall("write_file", b64Literal([]byte(path)), b64Literal(data)), &reply)
	if err != nil {
		return "", err
	}
	if pyErr != nil {
		return "", &ToolError{Message: "writing " + path + " failed: " + pyErr.String()}
	}
	return fmt.Sprintf("wrote %d bytes to %s", reply.Size, reply.Path), nil
}

// imageType returns the media type of an image the services accept, from
// its first bytes, or "".
func imageType(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "image/gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}

// clip keeps the first and last parts of s within max characters (bytes,
// cut on rune boundaries), with a note of how much was cut between them.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	head, tail := max/2, max-max/2
	i := head
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	j := len(s) - tail
	for j < len(s) && !utf8.RuneStart(s[j]) {
		j++
	}
	return s[:i] + fmt.Sprintf("\n[... %d characters cut ...]\n", j-i) + s[j:]
}
