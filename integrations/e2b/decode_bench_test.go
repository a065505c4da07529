package e2b

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// executionStream is a realistic stream: 200 output lines, keepalives, a
// 64 KiB image result, a main result, an error and the end.
func executionStream() []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"number_of_executions","execution_count":7}` + "\n")
	for i := 0; i < 200; i++ {
		b.WriteString(`{"type":"stdout","text":"epoch 12: loss=0.0421 accuracy=0.9873 lr=0.001 elapsed=12.4s batch=512 samples=65536\n","timestamp":"2025-06-01T10:00:00.123456Z"}` + "\n")
		if i%20 == 0 {
			b.WriteString(`{"type":"keepalive"}` + "\n")
		}
	}
	b.WriteString(`{"type":"result","is_main_result":false,"png":"` + strings.Repeat("iVBORw0KGgoAAAANSUhEUgAA", 64<<10/24) + `","text":"<Figure size 640x480>","extra":{}}` + "\n")
	b.WriteString(`{"type":"result","is_main_result":true,"text":"{'loss': 0.0421}","extra":{}}` + "\n")
	b.WriteString(`{"type":"error","name":"ValueError","value":"x","traceback":"Traceback (most recent call last):\n  File \"<cell>\", line 1\nValueError: x"}` + "\n")
	b.WriteString(`{"type":"end_of_execution"}` + "\n")
	return b.Bytes()
}

// BenchmarkDecodeExecutionStream measures decoding throughput (MB/s) of a
// whole execution stream, from bytes to an Execution.
func BenchmarkDecodeExecutionStream(b *testing.B) {
	data := executionStream()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	r := bytes.NewReader(data)
	for b.Loop() {
		r.Reset(data)
		d := newStreamDecoder(r, DefaultMaxLineSize, nil)
		if err := d.run(); err != nil || !d.ended {
			b.Fatal(err)
		}
	}
}

// repeatReader yields line forever.
type repeatReader struct {
	line []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.line[r.off:])
		n += c
		r.off = (r.off + c) % len(r.line)
	}
	return n, nil
}

var _ io.Reader = (*repeatReader)(nil)

// BenchmarkDecodeKeepalive decodes one keepalive line per operation from an
// endless stream of them: allocs/op must be 0.
func BenchmarkDecodeKeepalive(b *testing.B) {
	for _, line := range []string{`{"type":"keepalive"}`, `{"type": "keepalive"}`} {
		b.Run(strings.ReplaceAll(line, " ", "_"), func(b *testing.B) {
			d := newStreamDecoder(&repeatReader{line: []byte(line + "\n")}, DefaultMaxLineSize, nil)
			b.SetBytes(int64(len(line) + 1))
			b.ReportAllocs()
			for b.Loop() {
				l, err := d.lr.next()
				if err != nil {
					b.Fatal(err)
				}
				if err := d.handle(l); err != nil {
					b.Fatal(err)
				}
			}
			if d.ended || len(d.exec.Stdout) != 0 {
				b.Fatal("keepalive changed the execution")
			}
		})
	}
}
