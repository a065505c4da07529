//go:build linux

package local

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ttadev/primitives/sandbox"
)

const (
	streamStdout = 0
	streamStderr = 1
	// maxChunks bounds the chunks kept per stream; later pieces are
	// appended to the last chunk, so memory stays proportional to bytes.
	maxChunks = 4096
)

// collector assembles one execution's output from raw pipe reads: it
// finds the end of each stream (the end marker a session's worker writes
// after the cell, or, for a stateless call whose pipes are its own, the
// end of the pipe: see ended), keeps at most max
// bytes in total, never splits a UTF-8 sequence across chunks, replaces
// invalid bytes with U+FFFD and fires the streaming callbacks.
type collector struct {
	exec    *sandbox.Execution
	opts    *sandbox.RunOptions
	mark    []byte
	max     int
	kept    int
	dropped [2]int
	carry   [2][]byte
	done    [2]bool // end marker seen

	resultBytes    int // size of the results kept
	droppedResults int
}

// newCollector returns a collector for one run. With a nonce, each
// stream ends at the worker's end marker carrying it; with "", at the end
// of its pipe (ended).
func newCollector(nonce string, max int, opts *sandbox.RunOptions) *collector {
	c := &collector{exec: &sandbox.Execution{}, opts: opts, max: max}
	if nonce != "" {
		c.mark = []byte("\x00\x01sandbox-end:" + nonce + "\x00")
	}
	return c
}

// ended marks a stream of a collector without a marker as complete: its
// pipe reached its end.
func (c *collector) ended(stream int) {
	if c.mark == nil {
		c.done[stream] = true
	}
}

// feed adds bytes read from a stream.
func (c *collector) feed(stream int, data []byte) {
	if c.done[stream] {
		return // after the marker: output of background processes, dropped
	}
	buf := data
	if len(c.carry[stream]) > 0 {
		buf = append(c.carry[stream], data...)
		c.carry[stream] = nil
	}
	if c.mark == nil {
		hold := incompleteTail(buf)
		c.emit(stream, buf[:len(buf)-hold])
		if hold > 0 {
			c.carry[stream] = append([]byte(nil), buf[len(buf)-hold:]...)
		}
		return
	}
	if i := bytes.Index(buf, c.mark); i >= 0 {
		c.emit(stream, buf[:i])
		c.done[stream] = true
		return
	}
	hold := 0
	// Hold back a tail that may be the start of the marker...
	if j := bytes.LastIndexByte(buf, 0); j >= 0 && len(buf)-j < len(c.mark) && bytes.HasPrefix(c.mark, buf[j:]) {
		hold = len(buf) - j
	}
	// ...or an incomplete UTF-8 sequence.
	body := buf[:len(buf)-hold]
	hold += incompleteTail(body)
	c.emit(stream, buf[:len(buf)-hold])
	if hold > 0 {
		c.carry[stream] = append([]byte(nil), buf[len(buf)-hold:]...)
	}
}

// incompleteTail returns how many bytes at the end of b start a UTF-8
// sequence that is not complete yet.
func incompleteTail(b []byte) int {
	for i := 1; i <= 3 && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return 0
		}
		if utf8.RuneStart(c) {
			if utf8.FullRune(b[len(b)-i:]) {
				return 0
			}
			return i
		}
	}
	return 0
}

func (c *collector) emit(stream int, b []byte) {
	if len(b) == 0 {
		return
	}
	if room := c.max - c.kept; len(b) > room {
		cut := max(room, 0)
		for cut > 0 && cut < len(b) && !utf8.RuneStart(b[cut]) {
			cut--
		}
		c.dropped[stream] += len(b) - cut
		b = b[:cut]
		if len(b) == 0 {
			return
		}
	}
	c.kept += len(b)
	c.add(stream, strings.ToValidUTF8(string(b), "\uFFFD"))
}

func (c *collector) add(stream int, text string) {
	msg := sandbox.OutputMessage{Text: text, Timestamp: time.Now(), Error: stream == streamStderr}
	chunks := &c.exec.Stdout
	cb := c.opts.OnStdout
	if stream == streamStderr {
		chunks, cb = &c.exec.Stderr, c.opts.OnStderr
	}
	if n := len(*chunks); n >= maxChunks {
		(*chunks)[n-1].Text += text
	} else {
		*chunks = append(*chunks, msg)
	}
	if cb != nil {
		cb(msg)
	}
}

// addResult keeps a result unless the results kept so far already reach
// max bytes: the first result is always kept (its size is bounded by the
// protocol's line limit), so code that writes result events of its own
// in a loop cannot grow the host's memory without bound. It reports
// whether r was kept.
func (c *collector) addResult(r sandbox.Result) bool {
	size := len(r.Text) + len(r.HTML) + len(r.Markdown) + len(r.SVG) + len(r.PNG) + len(r.JPEG) +
		len(r.PDF) + len(r.LaTeX) + len(r.JavaScript) + len(r.JSON)
	if len(c.exec.Results) > 0 && c.resultBytes+size > c.max {
		c.droppedResults++
		return false
	}
	c.resultBytes += size
	c.exec.Results = append(c.exec.Results, r)
	return true
}

// finish flushes held bytes (when the stream ended without a marker) and
// appends a truncation notice to each stream that lost output.
func (c *collector) finish() {
	for s := range 2 {
		if len(c.carry[s]) > 0 {
			rest := c.carry[s]
			c.carry[s] = nil
			c.emit(s, rest)
		}
		if c.dropped[s] > 0 {
			c.add(s, sandbox.BackendTruncationNote(fmt.Sprintf("%d bytes", c.dropped[s]), fmt.Sprintf("limit %d bytes of output", c.max)))
		}
	}
	if c.droppedResults > 0 {
		c.add(streamStderr, sandbox.BackendTruncationNote(fmt.Sprintf("%d results", c.droppedResults), fmt.Sprintf("limit %d bytes of results", c.max)))
		c.droppedResults = 0
	}
}

// complete reports whether both end markers were seen.
func (c *collector) complete() bool { return c.done[0] && c.done[1] }
