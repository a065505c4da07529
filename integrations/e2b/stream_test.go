package e2b

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ttadev/primitives/sandbox"
)

const sampleStream = `{"type":"number_of_executions","execution_count":3}
{"type": "keepalive"}
{"type":"stdout","text":"hello\n","timestamp":"2025-01-02T03:04:05.123456Z"}
{"type":"stderr","text":"warn \u00e9\n","timestamp":"2025-01-02T03:04:05.2"}

{"type":"result","is_main_result":false,"png":"iVBORw0KGgo=","text":"<Figure>","extra":{},"chart":{"type":"line","title":"t","elements":[]}}
{"type":"result","is_main_result":true,"text":"42","json":{"a":[1,2,{"b":null}]},"data":null}
{"type":"future_line_type","whatever":[1,{"x":"y"}]}
{"type":"error","name":"ValueError","value":"bad \"thing\"","traceback":"Traceback...\nValueError: bad"}
{"type":"end_of_execution"}
`

func decodeAll(t *testing.T, r io.Reader, max int, opts *sandbox.RunOptions) (*streamDecoder, error) {
	t.Helper()
	d := newStreamDecoder(r, max, opts)
	return d, d.run()
}

func TestDecodeFoldsLinesLikeTheSDK(t *testing.T) {
	var order []string
	opts := &sandbox.RunOptions{
		OnStdout: func(m sandbox.OutputMessage) { order = append(order, "stdout:"+m.Text) },
		OnStderr: func(m sandbox.OutputMessage) { order = append(order, "stderr:"+m.Text) },
		OnResult: func(r sandbox.Result) { order = append(order, "result:"+r.Text) },
		OnError:  func(e sandbox.ExecutionError) { order = append(order, "error:"+e.Name) },
	}
	// One byte per Read: every line is split across reads.
	d, err := decodeAll(t, iotest.OneByteReader(strings.NewReader(sampleStream)), DefaultMaxLineSize, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !d.ended {
		t.Fatal("end_of_execution not seen")
	}
	e := d.exec
	if e.ExecutionCount != 3 || e.StdoutText() != "hello\n" || e.StderrText() != "warn é\n" {
		t.Fatalf("count=%d stdout=%q stderr=%q", e.ExecutionCount, e.StdoutText(), e.StderrText())
	}
	if !e.Stderr[0].Error || e.Stdout[0].Error {
		t.Fatal("stderr flag wrong")
	}
	if e.Stdout[0].Timestamp.Nanosecond() != 123456000 || e.Stderr[0].Timestamp.IsZero() {
		t.Fatalf("timestamps %v %v", e.Stdout[0].Timestamp, e.Stderr[0].Timestamp)
	}
	if len(e.Results) != 2 || e.Text() != "42" || e.Results[0].PNG != "iVBORw0KGgo=" {
		t.Fatalf("results %+v", e.Results)
	}
	if got := e.Results[0].Formats(); !reflect.DeepEqual(got, []string{"text", "png", "chart"}) {
		t.Fatalf("formats %v", got)
	}
	if string(e.Results[1].JSON) != `{"a":[1,2,{"b":null}]}` || string(e.Results[1].Data) != "null" {
		t.Fatalf("raw json %s %s", e.Results[1].JSON, e.Results[1].Data)
	}
	if e.Error == nil || e.Error.Value != `bad "thing"` || e.Error.String() != `ValueError: bad "thing"` {
		t.Fatalf("error %+v", e.Error)
	}
	want := []string{"stdout:hello\n", "stderr:warn é\n", "result:<Figure>", "result:42", "error:ValueError"}
	if !reflect.DeepEqual(order, want) {
		t.Fatalf("callbacks %q", order)
	}
}

func TestDecodeStopsAtEndOfExecution(t *testing.T) {
	r := strings.NewReader("{\"type\":\"end_of_execution\"}\nnot json at all\n")
	d, err := decodeAll(t, r, DefaultMaxLineSize, nil)
	if err != nil || !d.ended {
		t.Fatalf("err=%v ended=%v", err, d.ended)
	}
}

func TestDecodeStreamThatStopsEarly(t *testing.T) {
	r := strings.NewReader("{\"type\":\"stdout\",\"text\":\"partial\"}\n{\"type\":\"error\",\"name\":\"ExecutionAborted\",\"value\":\"x\",\"traceback\":\"\"}")
	d, err := decodeAll(t, r, DefaultMaxLineSize, nil)
	if !errors.Is(err, io.EOF) || d.ended {
		t.Fatalf("err=%v ended=%v", err, d.ended)
	}
	if d.exec.StdoutText() != "partial" || d.lastError == nil || d.lastError.Name != "ExecutionAborted" {
		t.Fatalf("partial %+v %+v", d.exec, d.lastError)
	}
}

func TestDecodeMalformedLines(t *testing.T) {
	for _, line := range []string{
		`not json`, `{"type":"stdout","text":`, `{"type":"stdout","text":5}`, `{"type":5}`,
		`{"type":"result","is_main_result":"yes"}`, `{"type":"number_of_executions","execution_count":1.5}`,
		`{"type":"stdout"} trailing`, `[1,2]`, `{"type":"result","json":{"a":01}}`, "{\"type\":\"stdout\",\"text\":\"a\x01\"}",
	} {
		_, err := decodeAll(t, strings.NewReader(line+"\n"), DefaultMaxLineSize, nil)
		if !errors.Is(err, errMalformed) {
			t.Errorf("%q: err = %v, want errMalformed", line, err)
		}
	}
}

func TestDecodeTenMegabyteLine(t *testing.T) {
	big := strings.Repeat("A", 10<<20)
	stream := `{"type":"result","is_main_result":true,"png":"` + big + "\"}\n{\"type\":\"end_of_execution\"}\n"
	d, err := decodeAll(t, strings.NewReader(stream), DefaultMaxLineSize, nil)
	if err != nil || !d.ended || len(d.exec.Results) != 1 || len(d.exec.Results[0].PNG) != len(big) {
		t.Fatalf("err=%v ended=%v", err, d.ended)
	}
	// With a 1 MiB bound the same line is refused with a typed error, and
	// the reader never buffered much more than the bound.
	d = newStreamDecoder(strings.NewReader(stream), 1<<20, nil)
	err = d.run()
	if !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err = %v", err)
	}
}

func TestLineReaderFinalLineWithoutNewline(t *testing.T) {
	lr := newLineReader(iotest.HalfReader(strings.NewReader("a\n\nbc")), 1024)
	var got []string
	for {
		l, err := lr.next()
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		got = append(got, string(l))
	}
	if !reflect.DeepEqual(got, []string{"a", "", "bc"}) {
		t.Fatalf("%q", got)
	}
}

// referenceApply decodes line with encoding/json (exact keys, the last
// duplicate wins) and applies it to exec as the protocol says. It is the
// oracle of FuzzDecode.
func referenceApply(line []byte, exec *sandbox.Execution) (ended bool, err error) {
	if bytes.Equal(bytes.TrimSpace(line), []byte("null")) {
		return false, errMalformed
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return false, err
	}
	str := func(k string) (string, error) {
		var s string
		if raw, ok := m[k]; ok {
			return s, json.Unmarshal(raw, &s)
		}
		return s, nil
	}
	var typ string
	if typ, err = str("type"); err != nil {
		return false, err
	}
	switch typ {
	case "end_of_execution":
		return true, nil
	case "number_of_executions":
		var n int
		if raw, ok := m["execution_count"]; ok {
			if err := json.Unmarshal(raw, &n); err != nil {
				return false, err
			}
		}
		exec.ExecutionCount = n
	case "stdout", "stderr":
		text, err := str("text")
		if err != nil {
			return false, err
		}
		ts, err := str("timestamp")
		if err != nil {
			return false, err
		}
		msg := sandbox.OutputMessage{Text: text, Timestamp: parseTimestamp(ts), Error: typ == "stderr"}
		if typ == "stdout" {
			exec.Stdout = append(exec.Stdout, msg)
		} else {
			exec.Stderr = append(exec.Stderr, msg)
		}
	case "result":
		var r sandbox.Result
		if raw, ok := m["is_main_result"]; ok {
			if err := json.Unmarshal(raw, &r.IsMainResult); err != nil {
				return false, err
			}
		}
		for k, dst := range map[string]*string{"text": &r.Text, "html": &r.HTML, "markdown": &r.Markdown,
			"svg": &r.SVG, "png": &r.PNG, "jpeg": &r.JPEG, "pdf": &r.PDF, "latex": &r.LaTeX, "javascript": &r.JavaScript} {
			if *dst, err = str(k); err != nil {
				return false, err
			}
		}
		for k, dst := range map[string]*json.RawMessage{"json": &r.JSON, "data": &r.Data, "chart": &r.Chart, "extra": &r.Extra} {
			if raw, ok := m[k]; ok {
				*dst = append(json.RawMessage(nil), raw...)
			}
		}
		exec.Results = append(exec.Results, r)
	case "error":
		var e sandbox.ExecutionError
		if e.Name, err = str("name"); err != nil {
			return false, err
		}
		if e.Value, err = str("value"); err != nil {
			return false, err
		}
		if e.Traceback, err = str("traceback"); err != nil {
			return false, err
		}
		// The code interpreter's own error lines are not the code's.
		switch e.Name {
		case "UnexpectedEndOfExecution", "WebSocketError", "ContextRestarting", "ExecutionAborted":
		default:
			exec.Error = &e
		}
	}
	return false, nil
}

// FuzzDecode checks the hand-written line decoder against encoding/json:
// for every valid JSON line both must agree on success and on what the
// line adds to the execution, and no input may panic or hang. Whole
// inputs are also fed as streams split at random read sizes.
func FuzzDecode(f *testing.F) {
	for _, l := range strings.Split(sampleStream, "\n") {
		f.Add([]byte(l))
	}
	f.Add([]byte(`{"type":"stdout","text":"\ud83d\ude00 \u0000","timestamp":null}`))
	f.Add([]byte(`{"t\u0079pe":"result","is_main_result":true,"text":"x","type":"result"}`))
	f.Add([]byte("{\"type\":\"stdout\",\"text\":\"\xff\xfe\"}"))
	f.Fuzz(func(t *testing.T, line []byte) {
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			// Whole-stream mode: must not panic, and must stop.
			d := newStreamDecoder(iotest.HalfReader(bytes.NewReader(line)), 1<<16, nil)
			_ = d.run()
			return
		}
		d := newStreamDecoder(nil, 1<<16, nil)
		err := d.handle(line)
		ref := &sandbox.Execution{}
		refEnded, refErr := referenceApply(line, ref)
		if !json.Valid(line) {
			return
		}
		if (err == nil) != (refErr == nil) {
			t.Fatalf("line %q: decoder err=%v, encoding/json err=%v", line, err, refErr)
		}
		if err != nil {
			return
		}
		if d.ended != refEnded || !reflect.DeepEqual(d.exec, ref) {
			t.Fatalf("line %q:\ndecoder  %+v ended=%v\nreference %+v ended=%v", line, d.exec, d.ended, ref, refEnded)
		}
	})
}

// A line of exactly the maximum size is accepted whatever ends it: "\n",
// "\r\n" (the "\r" belongs to the terminator, not the line) or the end of
// the stream; one byte more is refused.
func TestLineOfExactlyTheMaximumSize(t *testing.T) {
	const max = 2048
	const prefix = `{"type":"stdout","text":"`
	line := prefix + strings.Repeat("x", max-len(prefix)-2) + `"}`
	for _, tail := range []string{"\n", "\r\n", "", "\r"} {
		for _, r := range []io.Reader{strings.NewReader(line + tail), iotest.OneByteReader(strings.NewReader(line + tail))} {
			d, err := decodeAll(t, r, max, nil)
			if !errors.Is(err, io.EOF) || len(d.exec.Stdout) != 1 || len(d.exec.Stdout[0].Text) != max-len(prefix)-2 {
				t.Fatalf("tail %q: err=%v stdout=%d", tail, err, len(d.exec.Stdout))
			}
		}
		long := prefix + strings.Repeat("x", max-len(prefix)-1) + `"}`
		if _, err := decodeAll(t, strings.NewReader(long+tail), max, nil); !errors.Is(err, ErrLineTooLong) {
			t.Fatalf("tail %q: a line of max+1 bytes gave %v", tail, err)
		}
	}
}
