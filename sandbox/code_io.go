package sandbox

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// CodeInput is the input of [CodeExecution], with TTA.dev's schema: code
// (required) and an optional timeout, plus environment variables for this
// execution only and the language.
//
// In JSON, timeout is a number of seconds, as in TTA.dev's Python primitive
// ({"code": "print(1)", "timeout": 60}); 0 or absent means the primitive's
// default.
type CodeInput struct {
	// Code is the program to run. Empty or blank code is invalid input.
	Code string `json:"code"`
	// Timeout overrides the primitive's timeout for this execution (a
	// time.Duration: 60*time.Second, not 60, which is 60 ns and is refused
	// as invalid input, as is any value below a millisecond); 0
	// means the default, negative is invalid input.
	Timeout time.Duration `json:"timeout"`
	// Env is set for this execution only.
	Env map[string]string `json:"env_vars,omitempty"`
	// Language is "" or "python" (case and surrounding spaces do not
	// matter); backends reject languages they lack with an
	// *UnsupportedLanguageError.
	Language string `json:"language,omitempty"`
}

// codeInputJSON is CodeInput's wire form.
type codeInputJSON struct {
	Code     string            `json:"code"`
	Timeout  *float64          `json:"timeout,omitempty"`
	Env      map[string]string `json:"env_vars,omitempty"`
	Language string            `json:"language,omitempty"`
}

// MarshalJSON writes timeout as seconds and leaves it out when zero.
func (in CodeInput) MarshalJSON() ([]byte, error) {
	w := codeInputJSON{Code: in.Code, Env: in.Env, Language: in.Language}
	if in.Timeout != 0 {
		s := in.Timeout.Seconds()
		w.Timeout = &s
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads timeout as a number of seconds (integer or not);
// null or absent means zero.
func (in *CodeInput) UnmarshalJSON(data []byte) error {
	var w codeInputJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	var d time.Duration
	if w.Timeout != nil {
		s := *w.Timeout
		if math.IsNaN(s) || math.Abs(s) > math.MaxInt64/float64(time.Second) {
			return fmt.Errorf("sandbox: CodeInput: timeout %v seconds is out of range", s)
		}
		d = time.Duration(math.Round(s * float64(time.Second)))
	}
	*in = CodeInput{Code: w.Code, Timeout: d, Env: w.Env, Language: w.Language}
	return nil
}

// CodeOutput is the output of [CodeExecution]. Its first four fields are
// TTA.dev's schema (success, logs, error, execution_time_ms); the others
// carry what E2B's execution model adds.
type CodeOutput struct {
	// Success is true when the code ran to the end without raising.
	Success bool `json:"success"`
	// Logs is the captured stdout followed by the captured stderr.
	Logs string `json:"logs"`
	// Error is "Name: value" of the exception the code raised (for
	// example "SyntaxError: unterminated string literal ..."), or "" on
	// success.
	Error string `json:"error"`
	// ExecutionTimeMS is the duration of the whole call in milliseconds,
	// including waiting for or creating a sandbox.
	ExecutionTimeMS float64 `json:"execution_time_ms"`

	// Stdout and Stderr are the two streams on their own.
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	// Results holds the value of the last expression (IsMainResult) and
	// any display outputs.
	Results []Result `json:"results,omitempty"`
	// ErrorName, ErrorValue and Traceback detail the exception.
	ErrorName  string `json:"error_name,omitempty"`
	ErrorValue string `json:"error_value,omitempty"`
	Traceback  string `json:"traceback,omitempty"`
	// SandboxID identifies the sandbox that ran the code.
	SandboxID string `json:"sandbox_id"`
	// ExecutionCount is the sandbox's execution counter after this run.
	ExecutionCount int `json:"execution_count"`
	// Truncated reports that some output was dropped by any layer: cut at
	// the primitive's maximum size (WithMaxOutputSize), or dropped by the
	// backend at its own byte limit. The text carries a note saying which
	// layer dropped how much.
	Truncated bool `json:"truncated"`
}

// Text returns the text of the main result (the repr of the last
// expression), or "".
func (o CodeOutput) Text() string {
	for _, r := range o.Results {
		if r.IsMainResult {
			return r.Text
		}
	}
	return ""
}
