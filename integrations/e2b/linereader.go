package e2b

import (
	"bytes"
	"io"
	"sync"
)

// lineReader splits a stream into lines as bytes arrive, without waiting
// for more than the current line. Its buffer starts small (pooled), grows
// by doubling while a line does not fit, and is bounded by max: a longer
// line is ErrLineTooLong. Lines returned alias the buffer and are valid
// until the next call.
//
// Memory: at most about 2*max bytes while a maximal line is read; one
// pooled 32 KiB buffer otherwise.
type lineReader struct {
	r       io.Reader
	buf     []byte
	start   int // first unread byte
	end     int // end of buffered data
	scanned int // bytes after start already searched for '\n'
	max     int
	err     error
	pooled  bool
}

const initialLineBuffer = 32 << 10

var lineBufferPool = sync.Pool{New: func() any {
	b := make([]byte, initialLineBuffer)
	return &b
}}

func newLineReader(r io.Reader, max int) *lineReader {
	bp := lineBufferPool.Get().(*[]byte)
	return &lineReader{r: r, buf: *bp, max: max, pooled: true}
}

// release returns the initial buffer to the pool; the reader must not be
// used afterwards.
func (lr *lineReader) release() {
	if lr.pooled && cap(lr.buf) == initialLineBuffer {
		b := lr.buf[:initialLineBuffer]
		lineBufferPool.Put(&b)
	}
	lr.buf = nil
	lr.pooled = false
}

// next returns the next line without its terminator ("\n" or "\r\n"; the
// maximum applies to the line without it). At the end of the stream it
// returns a final unterminated line (if any) first, then the read error
// (io.EOF for a clean end).
func (lr *lineReader) next() ([]byte, error) {
	for {
		if i := bytes.IndexByte(lr.buf[lr.start+lr.scanned:lr.end], '\n'); i >= 0 {
			stop := lr.start + lr.scanned + i
			line := trimCR(lr.buf[lr.start:stop])
			lr.start = stop + 1
			lr.scanned = 0
			if len(line) > lr.max {
				return nil, ErrLineTooLong
			}
			return line, nil
		}
		lr.scanned = lr.end - lr.start
		if lr.scanned > lr.max && len(trimCR(lr.buf[lr.start:lr.end])) > lr.max {
			return nil, ErrLineTooLong
		}
		if lr.err != nil {
			if lr.end > lr.start {
				line := trimCR(lr.buf[lr.start:lr.end])
				lr.start, lr.scanned = lr.end, 0
				return line, nil
			}
			return nil, lr.err
		}
		lr.fill()
	}
}

// fill makes room and reads once.
func (lr *lineReader) fill() {
	if lr.start > 0 && (lr.end == len(lr.buf) || lr.start == lr.end) {
		n := copy(lr.buf, lr.buf[lr.start:lr.end])
		lr.start, lr.end = 0, n
	}
	if lr.end == len(lr.buf) {
		size := 2 * len(lr.buf)
		if limit := lr.max + 2; size > limit { // a maximal line and "\r\n"
			size = limit
		}
		if size <= len(lr.buf) {
			size = len(lr.buf) + 1
		}
		nb := make([]byte, size)
		copy(nb, lr.buf[lr.start:lr.end])
		lr.end -= lr.start
		lr.start = 0
		if lr.pooled {
			b := lr.buf[:initialLineBuffer]
			lineBufferPool.Put(&b)
			lr.pooled = false
		}
		lr.buf = nb
	}
	n, err := lr.r.Read(lr.buf[lr.end:])
	lr.end += n
	if err != nil {
		lr.err = err
	}
}

// trimCR drops the '\r' of a "\r\n" terminator.
func trimCR(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}
