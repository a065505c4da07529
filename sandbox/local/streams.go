//go:build linux

package local

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// streams moves what a worker writes into channels: one goroutine per pipe
// reads the stdout and stderr pipes into out and the event pipe, line by
// line, into ev. A session sandbox has one set for its life; a stateless
// call has a set of its own, over the pipes of its slot (see slot.go).
type streams struct {
	out   chan chunk
	ev    chan event
	files [2]*os.File // stdout, stderr: what catchUp asks for pending bytes
	// evFilter tells the event reader which lines of the current run need
	// no parsing because their budget is spent (filterResults,
	// filterErrors); evSkipped counts the lines it dropped unparsed and
	// evParsed those it parsed.
	evFilter  atomic.Uint32
	evSkipped atomic.Int64
	evParsed  atomic.Int64
	// read counts the bytes each stream's reader has taken from its pipe;
	// taken, owned by the goroutine running a command, those it has
	// received from out (see catchUp).
	read  [2]atomic.Int64
	taken [2]int64
	done  <-chan struct{} // closed when nobody reads the channels any more
}

// newStreams starts the readers of stdout, stderr and events (any may be
// nil: nothing is read from it). maxLine bounds an event line.
func newStreams(stdout, stderr, events *os.File, maxLine int, done <-chan struct{}) *streams {
	st := &streams{out: make(chan chunk, 64), ev: make(chan event, 16), files: [2]*os.File{stdout, stderr}, done: done}
	for i, f := range st.files {
		if f != nil {
			go st.readStream(f, i)
		}
	}
	if events != nil {
		go st.readEvents(events, maxLine)
	}
	return st
}

func (st *streams) readStream(f *os.File, stream int) {
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			st.read[stream].Add(int64(n))
			select {
			case st.out <- chunk{stream: stream, data: slices.Clone(buf[:n])}:
			case <-st.done:
				return
			}
		}
		if err != nil {
			select {
			case st.out <- chunk{stream: stream, eof: true}:
			case <-st.done:
			}
			return
		}
	}
}

var errLineTooLong = errors.New("protocol line too long")

func (st *streams) readEvents(f *os.File, limit int) {
	r := bufio.NewReaderSize(f, 64<<10)
	send := func(ev event) bool {
		select {
		case st.ev <- ev:
			return true
		case <-st.done:
			return false
		}
	}
	for {
		line, err := readLine(r, limit)
		if err != nil {
			send(event{T: "eof", err: err})
			return
		}
		if f := st.evFilter.Load(); f != 0 && skipEvent(line, f) {
			st.evSkipped.Add(1)
			continue
		}
		st.evParsed.Add(1)
		var ev event
		if err := json.Unmarshal(line, &ev); err != nil {
			send(event{T: "eof", err: fmt.Errorf("bad protocol line: %w", err)})
			return
		}
		if !send(ev) {
			return
		}
	}
}

const (
	filterResults = 1 << iota // the run's result budget is spent
	filterErrors              // the run's error is already kept
)

var (
	callPrefix  = []byte(`{"t":"call"`)
	endPrefix   = []byte(`{"t":"end"`)
	errorPrefix = []byte(`{"t":"error"`)
)

// skipEvent reports whether line can be dropped without parsing under
// filter: once the result budget is spent only the end of the run and (if
// none was kept yet) its error are parsed, whatever else the code writes;
// once an error is kept, later errors are not parsed. The worker writes
// the "t" key first; a line that does not start like the worker's own is
// the code's and is dropped too.
func skipEvent(line []byte, filter uint32) bool {
	if bytes.HasPrefix(line, endPrefix) || bytes.HasPrefix(line, callPrefix) {
		return false // a call waits for its reply whatever the budget
	}
	isError := bytes.HasPrefix(line, errorPrefix)
	if filter&filterResults != 0 {
		return !isError || filter&filterErrors != 0
	}
	return isError
}

func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		part, err := r.ReadSlice('\n')
		if len(line)+len(part) > limit {
			return nil, errLineTooLong
		}
		if err == nil && line == nil {
			return part, nil
		}
		line = append(line, part...)
		if err == nil {
			return line, nil
		}
		if err != bufio.ErrBufferFull {
			return nil, err
		}
	}
}

// take passes a chunk read from a stream to col.
func (st *streams) take(col *collector, c chunk) {
	if c.eof {
		col.ended(c.stream)
		return
	}
	st.taken[c.stream] += int64(len(c.data))
	col.feed(c.stream, c.data)
}

// catchUp passes on, before an event is handled, the output the worker
// wrote before the event: what is still in the pipes or in the readers'
// hands when the event arrives (waiting at most 50 ms for it), so the
// callbacks see a print before the result that follows it.
func (st *streams) catchUp(col *collector) {
	var target [2]int64
	for i, f := range st.files {
		if f != nil {
			target[i] = st.read[i].Load() + int64(pending(f))
		}
	}
	var timeout <-chan time.Time
	for st.taken[0] < target[0] || st.taken[1] < target[1] {
		if timeout == nil {
			timeout = time.After(50 * time.Millisecond)
		}
		select {
		case c := <-st.out:
			st.take(col, c)
			if c.eof {
				return
			}
		case <-timeout:
			return
		}
	}
}

// pending returns the bytes waiting in the pipe f (FIONREAD, which is
// TIOCINQ).
func pending(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ) })
	return n
}
