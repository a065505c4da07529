package e2b

import (
	"io"
	"time"

	"github.com/ttadev/primitives/sandbox"
)

// streamDecoder folds the lines of an execution stream into an Execution
// the way E2B's SDKs do, firing the callbacks of opts as each line is
// decoded. It is used by one goroutine.
type streamDecoder struct {
	lr    *lineReader
	sl    scannedLine
	exec  *sandbox.Execution
	opts  *sandbox.RunOptions
	ended bool
	// lines counts the lines read, keepalives and blank lines included.
	lines int
	// lastError is the last error line, kept to name a synthetic error
	// when the stream stops early.
	lastError *sandbox.ExecutionError
	// synthetic is the first error line the code interpreter made up
	// itself (ContextRestarting, WebSocketError, ...): an infrastructure
	// failure, not the user's error, so it is neither Execution.Error
	// nor passed to OnError.
	synthetic *sandbox.ExecutionError
}

func newStreamDecoder(r io.Reader, maxLine int, opts *sandbox.RunOptions) *streamDecoder {
	return &streamDecoder{lr: newLineReader(r, maxLine), exec: &sandbox.Execution{}, opts: opts}
}

// run reads until end_of_execution, the end of the stream, or an error.
// A clean end of stream before end_of_execution returns io.EOF with ended
// false; a malformed line returns errMalformed; a long line
// ErrLineTooLong; otherwise the read error.
func (d *streamDecoder) run() error {
	defer d.lr.release()
	for !d.ended {
		line, err := d.lr.next()
		if err != nil {
			return err
		}
		d.lines++
		if err := d.handle(line); err != nil {
			return err
		}
	}
	return nil
}

// handle decodes one line.
func (d *streamDecoder) handle(line []byte) error {
	ok, err := d.sl.scan(line)
	if err != nil || !ok {
		return err
	}
	k, err := d.sl.kind()
	if err != nil {
		return err
	}
	switch k {
	case kindKeepalive, kindIgnored:
		return nil
	case kindEnd:
		d.ended = true
	case kindCount:
		n, err := d.sl.integer(fExecutionCount)
		if err != nil {
			return err
		}
		d.exec.ExecutionCount = n
	case kindStdout, kindStderr:
		text, err := d.sl.str(fText)
		if err != nil {
			return err
		}
		ts, err := d.sl.str(fTimestamp)
		if err != nil {
			return err
		}
		msg := sandbox.OutputMessage{Text: text, Timestamp: parseTimestamp(ts), Error: k == kindStderr}
		if k == kindStdout {
			d.exec.Stdout = append(d.exec.Stdout, msg)
			if d.opts != nil && d.opts.OnStdout != nil {
				d.opts.OnStdout(msg)
			}
		} else {
			d.exec.Stderr = append(d.exec.Stderr, msg)
			if d.opts != nil && d.opts.OnStderr != nil {
				d.opts.OnStderr(msg)
			}
		}
	case kindResult:
		r, err := d.result()
		if err != nil {
			return err
		}
		d.exec.Results = append(d.exec.Results, r)
		if d.opts != nil && d.opts.OnResult != nil {
			d.opts.OnResult(r)
		}
	case kindError:
		var e sandbox.ExecutionError
		var err error
		if e.Name, err = d.sl.str(fName); err != nil {
			return err
		}
		if e.Value, err = d.sl.str(fValue); err != nil {
			return err
		}
		if e.Traceback, err = d.sl.str(fTraceback); err != nil {
			return err
		}
		d.lastError = &e
		if isSyntheticError(e.Name) {
			if d.synthetic == nil {
				d.synthetic = &e
			}
			return nil
		}
		d.exec.Error = &e
		if d.opts != nil && d.opts.OnError != nil {
			d.opts.OnError(e)
		}
	}
	return nil
}

func (d *streamDecoder) result() (sandbox.Result, error) {
	var r sandbox.Result
	var err error
	if r.IsMainResult, err = d.sl.boolean(fIsMainResult); err != nil {
		return r, err
	}
	strs := [...]struct {
		f   int
		dst *string
	}{
		{fText, &r.Text}, {fHTML, &r.HTML}, {fMarkdown, &r.Markdown}, {fSVG, &r.SVG},
		{fPNG, &r.PNG}, {fJPEG, &r.JPEG}, {fPDF, &r.PDF}, {fLaTeX, &r.LaTeX},
		{fJavaScript, &r.JavaScript},
	}
	for _, s := range strs {
		if *s.dst, err = d.sl.str(s.f); err != nil {
			return r, err
		}
	}
	raws := [...]struct {
		f   int
		dst *[]byte
	}{
		{fJSON, (*[]byte)(&r.JSON)}, {fData, (*[]byte)(&r.Data)},
		{fChart, (*[]byte)(&r.Chart)}, {fExtra, (*[]byte)(&r.Extra)},
	}
	for _, s := range raws {
		if *s.dst, err = d.sl.rawJSON(s.f); err != nil {
			return r, err
		}
	}
	return r, nil
}

// parseTimestamp reads the ISO-8601 timestamp of an output chunk; a zone
// less time is taken as UTC. An unreadable one gives the zero time: the
// exact format is not part of the published protocol.
func parseTimestamp(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t
	}
	return time.Time{}
}
