package mcpserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/sandbox"
)

// The sandbox contract has no file API, so files move through cells. Every
// value a cell receives is base64 inside a Python string literal (an
// alphabet with no quote, backslash or newline), so no path or content can
// change the program; the helper function is deleted after use, leaving
// the session's namespace as it was.

const maxPathBytes = 4096

const writeCell = `def __sandbox_mcp_write(p, d):
    import base64, json, os
    p = base64.b64decode(p).decode("utf-8")
    d = base64.b64decode(d)
    parent = os.path.dirname(p)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(p, "wb") as f:
        f.write(d)
    print(json.dumps({"path": os.path.abspath(p), "bytes": len(d)}))
try:
    __sandbox_mcp_write("%s", "%s")
finally:
    del __sandbox_mcp_write
`

const readCell = `def __sandbox_mcp_read(p, limit):
    import base64, json, os
    p = base64.b64decode(p).decode("utf-8")
    with open(p, "rb") as f:
        d = f.read(limit + 1)
    if len(d) > limit:
        raise ValueError("%%s is larger than the limit of %%d bytes" %% (p, limit))
    print(json.dumps({"path": os.path.abspath(p), "bytes": len(d)}))
    print(base64.b64encode(d).decode("ascii"))
try:
    __sandbox_mcp_read("%s", %d)
finally:
    del __sandbox_mcp_read
`

func checkPath(p string) error {
	switch {
	case strings.TrimSpace(p) == "":
		return toolErrorf("invalid input: path is empty")
	case len(p) > maxPathBytes:
		return toolErrorf("invalid input: path is %d bytes, more than %d", len(p), maxPathBytes)
	case strings.ContainsRune(p, 0):
		return toolErrorf("invalid input: path contains a NUL byte")
	case !utf8.ValidString(p):
		return toolErrorf("invalid input: path is not valid UTF-8")
	}
	return nil
}

func checkEncoding(e string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(e)) {
	case "", "text", "utf-8", "utf8":
		return "text", nil
	case "base64":
		return "base64", nil
	}
	return "", toolErrorf("invalid input: encoding %q is not text or base64", e)
}

func (s *Server) writeFile(ctx context.Context, req *mcp.CallToolRequest, in WriteFileInput) (*mcp.CallToolResult, WriteFileOutput, error) {
	var zero WriteFileOutput
	if err := checkPath(in.Path); err != nil {
		return nil, zero, err
	}
	enc, err := checkEncoding(in.Encoding)
	if err != nil {
		return nil, zero, err
	}
	data := []byte(in.Content)
	if enc == "base64" {
		// The decoded size is known before decoding: refuse early.
		if n := base64.StdEncoding.DecodedLen(len(in.Content)); n > s.cfg.maxFileBytes+2 {
			return nil, zero, toolErrorf("invalid input: content of about %d bytes is more than the limit of %d bytes", n, s.cfg.maxFileBytes)
		}
		data, err = base64.StdEncoding.DecodeString(strings.TrimSpace(in.Content))
		if err != nil {
			return nil, zero, toolErrorf("invalid input: content is not valid base64 (%v)", err)
		}
	}
	if len(data) > s.cfg.maxFileBytes {
		return nil, zero, toolErrorf("invalid input: content of %d bytes is more than the limit of %d bytes", len(data), s.cfg.maxFileBytes)
	}
	code := fmt.Sprintf(writeCell, b64(in.Path), b64str(data))
	co, _, err := s.execute(ctx, req.Session, sandbox.CodeInput{Code: code})
	if err != nil {
		return nil, zero, err
	}
	if !co.Success {
		return nil, zero, toolErrorf("writing %s failed: %s", in.Path, co.Error)
	}
	var out WriteFileOutput
	if err := json.Unmarshal([]byte(lastLine(co.Stdout)), &out); err != nil {
		return nil, zero, toolErrorf("writing %s: unexpected answer from the sandbox", in.Path)
	}
	return nil, out, nil
}

func (s *Server) readFile(ctx context.Context, req *mcp.CallToolRequest, in ReadFileInput) (*mcp.CallToolResult, ReadFileOutput, error) {
	var zero ReadFileOutput
	if err := checkPath(in.Path); err != nil {
		return nil, zero, err
	}
	enc, err := checkEncoding(in.Encoding)
	if err != nil {
		return nil, zero, err
	}
	code := fmt.Sprintf(readCell, b64(in.Path), s.cfg.maxFileBytes)
	co, _, err := s.execute(ctx, req.Session, sandbox.CodeInput{Code: code})
	if err != nil {
		return nil, zero, err
	}
	if !co.Success {
		return nil, zero, toolErrorf("reading %s failed: %s", in.Path, co.Error)
	}
	// The answer is the last two lines of stdout: a JSON header, then the
	// content in base64.
	lines := strings.Split(strings.TrimRight(co.Stdout, "\n"), "\n")
	if len(lines) < 2 || co.Truncated {
		return nil, zero, toolErrorf("reading %s: unexpected answer from the sandbox", in.Path)
	}
	out := ReadFileOutput{Encoding: enc}
	if err := json.Unmarshal([]byte(lines[len(lines)-2]), &out); err != nil {
		return nil, zero, toolErrorf("reading %s: unexpected answer from the sandbox", in.Path)
	}
	data, err := base64.StdEncoding.DecodeString(lines[len(lines)-1])
	if err != nil || len(data) != out.Bytes {
		return nil, zero, toolErrorf("reading %s: unexpected answer from the sandbox", in.Path)
	}
	if enc == "base64" {
		out.Content = lines[len(lines)-1]
		return nil, out, nil
	}
	if !utf8.Valid(data) {
		return nil, zero, toolErrorf("%s is not UTF-8 text; read it with encoding base64", in.Path)
	}
	out.Content = string(data)
	return nil, out, nil
}

func b64(s string) string    { return base64.StdEncoding.EncodeToString([]byte(s)) }
func b64str(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
