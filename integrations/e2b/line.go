package e2b

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// The kinds of line in an execution stream (the "type" field).
type lineKind uint8

const (
	kindIgnored lineKind = iota // empty line, unknown or missing type
	kindKeepalive
	kindEnd
	kindCount
	kindStdout
	kindStderr
	kindResult
	kindError
)

// Field slots of a line: the keys the protocol defines. A line is scanned
// once; each known key's value is remembered as a span of the line, and
// only the fields its type needs are decoded, so a keepalive line costs a
// scan and no allocation.
const (
	fType = iota
	fText
	fTimestamp
	fExecutionCount
	fIsMainResult
	fExtra
	fHTML
	fMarkdown
	fSVG
	fPNG
	fJPEG
	fPDF
	fLaTeX
	fJSON
	fJavaScript
	fData
	fChart
	fName
	fValue
	fTraceback
	numFields
)

func fieldOf(key []byte) int {
	switch string(key) {
	case "type":
		return fType
	case "text":
		return fText
	case "timestamp":
		return fTimestamp
	case "execution_count":
		return fExecutionCount
	case "is_main_result":
		return fIsMainResult
	case "extra":
		return fExtra
	case "html":
		return fHTML
	case "markdown":
		return fMarkdown
	case "svg":
		return fSVG
	case "png":
		return fPNG
	case "jpeg":
		return fJPEG
	case "pdf":
		return fPDF
	case "latex":
		return fLaTeX
	case "json":
		return fJSON
	case "javascript":
		return fJavaScript
	case "data":
		return fData
	case "chart":
		return fChart
	case "name":
		return fName
	case "value":
		return fValue
	case "traceback":
		return fTraceback
	}
	return -1
}

// span is a value's position in the line; esc is set for a string with
// escapes or bytes that are not valid UTF-8 (decoded by encoding/json).
type span struct {
	start, end int32
	set        bool
	str        bool
	esc        bool
}

// scannedLine holds the spans of one line.
type scannedLine struct {
	line   []byte
	fields [numFields]span
}

var errMalformed = errors.New("malformed JSON line")

// scan checks that line is one JSON object and records the spans of known
// keys (the last occurrence wins, as with encoding/json). Whitespace-only
// lines are reported with ok=false and a nil error.
func (s *scannedLine) scan(line []byte) (ok bool, err error) {
	s.line = line
	s.fields = [numFields]span{}
	i := skipWS(line, 0)
	if i == len(line) {
		return false, nil
	}
	if line[i] != '{' {
		return false, errMalformed
	}
	i = skipWS(line, i+1)
	if i < len(line) && line[i] == '}' {
		return true, checkTrailing(line, i+1)
	}
	for {
		if i >= len(line) || line[i] != '"' {
			return false, errMalformed
		}
		kEnd, kEsc, err := scanString(line, i)
		if err != nil {
			return false, err
		}
		var f int
		if kEsc {
			var key string
			if json.Unmarshal(line[i:kEnd], &key) != nil {
				return false, errMalformed
			}
			f = fieldOf([]byte(key))
		} else {
			f = fieldOf(line[i+1 : kEnd-1])
		}
		i = skipWS(line, kEnd)
		if i >= len(line) || line[i] != ':' {
			return false, errMalformed
		}
		i = skipWS(line, i+1)
		vStart := i
		isStr := i < len(line) && line[i] == '"'
		var vEnd int
		var vEsc bool
		if isStr {
			vEnd, vEsc, err = scanString(line, i)
		} else {
			vEnd, err = skipValue(line, i, 0)
		}
		if err != nil {
			return false, err
		}
		if f >= 0 {
			s.fields[f] = span{start: int32(vStart), end: int32(vEnd), set: true, str: isStr, esc: vEsc}
		}
		i = skipWS(line, vEnd)
		if i >= len(line) {
			return false, errMalformed
		}
		switch line[i] {
		case ',':
			i = skipWS(line, i+1)
		case '}':
			return true, checkTrailing(line, i+1)
		default:
			return false, errMalformed
		}
	}
}

func checkTrailing(line []byte, i int) error {
	if skipWS(line, i) != len(line) {
		return errMalformed
	}
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString scans the string starting at b[i] == '"' and returns the
// index after its closing quote. esc reports escapes or invalid UTF-8.
func scanString(b []byte, i int) (end int, esc bool, err error) {
	j := i + 1
	ascii := true
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			if !ascii && !esc && !utf8.Valid(b[i+1:j]) {
				esc = true
			}
			return j + 1, esc, nil
		case c == '\\':
			esc = true
			j += 2
			continue
		case c < 0x20:
			return 0, false, errMalformed
		case c >= 0x80:
			ascii = false
		}
		j++
	}
	return 0, false, errMalformed
}

// skipValue skips a non-string value (or a string inside a container) and
// returns the index after it. Containers are checked for balance and
// well-formed strings; their exact grammar is checked with json.Valid only
// when a field that holds raw JSON is decoded.
func skipValue(b []byte, i int, depth int) (int, error) {
	if i >= len(b) {
		return 0, errMalformed
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '{' || c == '[':
		if depth > 512 {
			return 0, errMalformed
		}
		close := byte('}')
		if c == '[' {
			close = ']'
		}
		j := skipWS(b, i+1)
		if j < len(b) && b[j] == close {
			return j + 1, nil
		}
		for {
			var err error
			if c == '{' {
				if j >= len(b) || b[j] != '"' {
					return 0, errMalformed
				}
				if j, _, err = scanString(b, j); err != nil {
					return 0, err
				}
				j = skipWS(b, j)
				if j >= len(b) || b[j] != ':' {
					return 0, errMalformed
				}
				j = skipWS(b, j+1)
			}
			if j, err = skipValue(b, j, depth+1); err != nil {
				return 0, err
			}
			j = skipWS(b, j)
			if j >= len(b) {
				return 0, errMalformed
			}
			if b[j] == close {
				return j + 1, nil
			}
			if b[j] != ',' {
				return 0, errMalformed
			}
			j = skipWS(b, j+1)
		}
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		j := i + 1
		for j < len(b) {
			c := b[j]
			if (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
				j++
				continue
			}
			break
		}
		if !json.Valid(b[i:j]) {
			return 0, errMalformed
		}
		return j, nil
	}
	return 0, errMalformed
}

func literal(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, errMalformed
	}
	return i + len(lit), nil
}

// raw returns the bytes of field f.
func (s *scannedLine) raw(f int) []byte {
	sp := s.fields[f]
	return s.line[sp.start:sp.end]
}

// isNull reports whether field f is absent or null.
func (s *scannedLine) isNull(f int) bool {
	sp := s.fields[f]
	return !sp.set || (!sp.str && string(s.line[sp.start:sp.end]) == "null")
}

// kind classifies the line by its "type" without allocating.
func (s *scannedLine) kind() (lineKind, error) {
	sp := s.fields[fType]
	if s.isNull(fType) {
		return kindIgnored, nil
	}
	if !sp.str {
		return kindIgnored, errMalformed
	}
	var t []byte
	if sp.esc {
		var v string
		if json.Unmarshal(s.raw(fType), &v) != nil {
			return kindIgnored, errMalformed
		}
		t = []byte(v)
	} else {
		t = s.line[sp.start+1 : sp.end-1]
	}
	switch string(t) {
	case "keepalive":
		return kindKeepalive, nil
	case "end_of_execution":
		return kindEnd, nil
	case "number_of_executions":
		return kindCount, nil
	case "stdout":
		return kindStdout, nil
	case "stderr":
		return kindStderr, nil
	case "result":
		return kindResult, nil
	case "error":
		return kindError, nil
	}
	return kindIgnored, nil
}

// str decodes string field f ("" when absent or null).
func (s *scannedLine) str(f int) (string, error) {
	if s.isNull(f) {
		return "", nil
	}
	sp := s.fields[f]
	if !sp.str {
		return "", errMalformed
	}
	if !sp.esc {
		return string(s.line[sp.start+1 : sp.end-1]), nil
	}
	var v string
	if err := json.Unmarshal(s.raw(f), &v); err != nil {
		return "", errMalformed
	}
	return v, nil
}

// rawJSON copies field f as raw JSON (nil when absent), checking it.
func (s *scannedLine) rawJSON(f int) (json.RawMessage, error) {
	if !s.fields[f].set {
		return nil, nil
	}
	r := s.raw(f)
	if !json.Valid(r) {
		return nil, errMalformed
	}
	return append(json.RawMessage(nil), r...), nil
}

// boolean decodes bool field f (false when absent or null).
func (s *scannedLine) boolean(f int) (bool, error) {
	if s.isNull(f) {
		return false, nil
	}
	switch string(s.raw(f)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errMalformed
}

// integer decodes int field f (0 when absent or null).
func (s *scannedLine) integer(f int) (int, error) {
	if s.isNull(f) {
		return 0, nil
	}
	if s.fields[f].str {
		return 0, errMalformed
	}
	n, err := strconv.Atoi(string(s.raw(f)))
	if err != nil {
		return 0, errMalformed
	}
	return n, nil
}
