package mcpserver

import (
	"context"
	"fmt"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxPendingStream bounds the stdout held for streaming while a
// notification is being sent; chunks beyond it are counted, not kept (the
// tool result still carries the cell's stdout).
const maxPendingStream = 64 << 10

// streamer forwards a running cell's stdout to the client: as progress
// notifications when the call carries a progress token, else as log
// notifications (sent only if the client has set a log level). write never
// blocks; one goroutine sends, coalescing what arrived meanwhile.
type streamer struct {
	ss    *mcp.ServerSession
	token any

	mu      sync.Mutex
	buf     []byte
	dropped int
	seq     float64

	wake   chan struct{}
	done   chan struct{}
	exited chan struct{}
}

func startStreamer(ctx context.Context, ss *mcp.ServerSession, token any) *streamer {
	st := &streamer{ss: ss, token: token, wake: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{})}
	go st.loop(ctx)
	return st
}

func (st *streamer) write(text string) {
	st.mu.Lock()
	if len(st.buf)+len(text) > maxPendingStream {
		st.dropped += len(text)
	} else {
		st.buf = append(st.buf, text...)
	}
	st.mu.Unlock()
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

func (st *streamer) loop(ctx context.Context) {
	defer close(st.exited)
	for {
		select {
		case <-st.wake:
			st.flush(ctx)
		case <-st.done:
			st.flush(ctx)
			return
		}
	}
}

// stop sends what is left and waits for the sender, so that no
// notification follows the tool's result.
func (st *streamer) stop() {
	close(st.done)
	<-st.exited
}

func (st *streamer) flush(ctx context.Context) {
	st.mu.Lock()
	msg, dropped := string(st.buf), st.dropped
	st.buf, st.dropped = st.buf[:0], 0
	st.mu.Unlock()
	if dropped > 0 {
		msg += fmt.Sprintf("\n[%d bytes of output not streamed]\n", dropped)
	}
	if msg == "" || ctx.Err() != nil {
		return
	}
	if st.token != nil {
		st.seq++
		_ = st.ss.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
			ProgressToken: st.token,
			Progress:      st.seq,
			Message:       msg,
		})
		return
	}
	//lint:ignore SA1019 log notifications are the fallback for clients without progress tokens.
	_ = st.ss.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Logger: "stdout", Data: msg})
}
