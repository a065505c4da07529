//go:build linux

package local

import (
	"strings"
	"testing"

	"github.com/ttadev/primitives/sandbox"
)

func TestCollectorMarkerSplitAcrossReads(t *testing.T) {
	opts := &sandbox.RunOptions{}
	c := newCollector("abc", 1<<20, opts)
	stream := "hello\x00world" + string(c.mark) + "after"
	// Feed one byte at a time: the marker and the text must survive any split.
	for i := 0; i < len(stream); i++ {
		c.feed(streamStdout, []byte{stream[i]})
	}
	if !c.done[streamStdout] || c.done[streamStderr] {
		t.Fatalf("done = %v", c.done)
	}
	c.finish()
	if got := c.exec.StdoutText(); got != "hello\x00world" {
		t.Fatalf("stdout = %q", got)
	}
}

func TestCollectorUTF8AndTruncation(t *testing.T) {
	var streamed strings.Builder
	opts := &sandbox.RunOptions{OnStderr: func(m sandbox.OutputMessage) { streamed.WriteString(m.Text) }}
	c := newCollector("n", 10, opts)
	b := []byte("ééééééé") // 14 bytes
	c.feed(streamStderr, b[:3])
	c.feed(streamStderr, b[3:])
	c.feed(streamStderr, c.mark)
	c.finish()
	got := c.exec.StderrText()
	if !strings.HasPrefix(got, "ééééé\n... [output truncated: 4 bytes omitted by the sandbox (limit 10 bytes of output)]") {
		t.Fatalf("stderr = %q", got)
	}
	if streamed.String() != got {
		t.Fatalf("callbacks saw %q, execution holds %q", streamed.String(), got)
	}
	for _, m := range c.exec.Stderr {
		if !m.Error || strings.ContainsRune(m.Text, '\uFFFD') {
			t.Fatalf("chunk %+v", m)
		}
	}
}

func TestCollectorBoundsChunkCount(t *testing.T) {
	c := newCollector("n", 1<<20, &sandbox.RunOptions{})
	for range maxChunks + 100 {
		c.feed(streamStdout, []byte("x"))
	}
	if len(c.exec.Stdout) != maxChunks || len(c.exec.StdoutText()) != maxChunks+100 {
		t.Fatalf("%d chunks, %d bytes", len(c.exec.Stdout), len(c.exec.StdoutText()))
	}
}
