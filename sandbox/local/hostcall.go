//go:build linux

package local

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/sandbox"
)

const (
	// maxHostCallResult bounds the result of one host call sent back
	// into the sandbox; a larger result is refused with an error the code
	// sees.
	maxHostCallResult = 8 << 20
	// maxPendingHostCalls bounds the calls waiting for the host in one
	// run. The worker keeps one in flight per process; only code that
	// writes call events of its own gets past it, and its calls beyond
	// the bound get no reply.
	maxPendingHostCalls = 64
)

// hostCalls answers the calls one run's code makes to the host
// (RunOptions.OnHostCall), one at a time, on a goroutine of its own so
// the run's output keeps flowing meanwhile. Each reply goes into the pipe
// the run's command came from: the session's command pipe, or the
// stateless call's own slot.
type hostCalls struct {
	fn     sandbox.HostCallFunc
	dst    *os.File
	ctx    context.Context
	cancel context.CancelFunc
	queue  chan event
	done   chan struct{}
	panic  *primitives.PanicError // set by the goroutine before done closes
}

func startHostCalls(ctx context.Context, fn sandbox.HostCallFunc, dst *os.File) *hostCalls {
	h := &hostCalls{fn: fn, dst: dst, queue: make(chan event, maxPendingHostCalls), done: make(chan struct{})}
	h.ctx, h.cancel = context.WithCancel(ctx)
	go h.serve()
	return h
}

// add queues a call event; beyond the bound it is dropped.
func (h *hostCalls) add(ev event) {
	select {
	case h.queue <- ev:
	default:
	}
}

// stop ends the run's calls: the one running sees its context end, the
// ones queued are answered with an error, and stop returns when every
// reply is written (so none can follow the next command into a
// session's pipe). It returns the panic of the function, if it panicked.
func (h *hostCalls) stop() *primitives.PanicError {
	h.cancel()
	close(h.queue)
	<-h.done
	return h.panic
}

func (h *hostCalls) serve() {
	defer close(h.done)
	for ev := range h.queue {
		if h.panic != nil || h.ctx.Err() != nil {
			h.reply(ev.ID, nil, "the run ended before the host answered")
			continue
		}
		res, msg := h.call(ev)
		h.reply(ev.ID, res, msg)
	}
}

// call runs the function, turning its error and its panic into the text
// the code sees.
func (h *hostCalls) call(ev event) (res []byte, msg string) {
	defer func() {
		if v := recover(); v != nil {
			h.panic = &primitives.PanicError{Value: v, Stack: debug.Stack()}
			res, msg = nil, "the host failed while answering"
		}
	}()
	if h.fn == nil {
		return nil, "this run does not take calls to the host (RunOptions.OnHostCall is not set)"
	}
	args := []byte(ev.Args)
	if len(args) == 0 {
		args = []byte("{}")
	}
	out, err := h.fn(h.ctx, ev.Name, args)
	if err != nil {
		return nil, err.Error()
	}
	if len(out) > maxHostCallResult {
		return nil, fmt.Sprintf("the host's result is %d bytes, over the limit of %d bytes", len(out), maxHostCallResult)
	}
	if len(out) == 0 {
		out = []byte("null")
	}
	return out, ""
}

// reply writes one reply frame, framed as a command is (so a session's
// worker reads a reply its code did not wait for as a command it
// ignores): "reply <id> <bytes> 0\n" and the JSON result, or "raise <id>
// <bytes> 0\n" and the error's text. A write that fails (the code is
// gone) is dropped: nobody is left to read it.
func (h *hostCalls) reply(id int64, res []byte, msg string) {
	op, body := "reply ", res
	if res == nil {
		op, body = "raise ", []byte(msg)
	}
	head := op + strconv.FormatInt(id, 10) + " " + strconv.Itoa(len(body)) + " 0\n"
	frame := make([]byte, 0, len(head)+len(body))
	frame = append(append(frame, head...), body...)
	_, _ = h.dst.Write(frame)
}
