package mcpserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

func TestToolsListedWithSchemas(t *testing.T) {
	srv := newServer(t)
	cs := connect(t, srv, nil)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		ToolRunCode:      {"code"},
		ToolWriteFile:    {"path", "content"},
		ToolReadFile:     {"path"},
		ToolResetSession: nil,
	}
	if len(res.Tools) != len(want) {
		t.Fatalf("got %d tools, want %d", len(res.Tools), len(want))
	}
	for _, tool := range res.Tools {
		required, ok := want[tool.Name]
		if !ok {
			t.Fatalf("unexpected tool %q", tool.Name)
		}
		in, _ := tool.InputSchema.(map[string]any)
		out, _ := tool.OutputSchema.(map[string]any)
		if in["type"] != "object" || out["type"] != "object" {
			t.Fatalf("%s: input schema %v, output schema %v", tool.Name, tool.InputSchema, tool.OutputSchema)
		}
		var got []string
		req, _ := in["required"].([]any)
		for _, r := range req {
			got = append(got, r.(string))
		}
		slices.Sort(got)
		slices.Sort(required)
		if !slices.Equal(got, required) {
			t.Errorf("%s: required %v, want %v", tool.Name, got, required)
		}
		if tool.Description == "" {
			t.Errorf("%s: no description", tool.Name)
		}
	}
	// run_code's output schema names the fields the model reads.
	for _, tool := range res.Tools {
		if tool.Name == ToolRunCode {
			props := tool.OutputSchema.(map[string]any)["properties"].(map[string]any)
			for _, f := range []string{"success", "stdout", "stderr", "result", "error", "execution_time_ms"} {
				if props[f] == nil {
					t.Errorf("run_code output schema lacks %q", f)
				}
			}
		}
	}
	if ins := cs.InitializeResult().Instructions; !strings.Contains(ins, "backend: local") || !strings.Contains(ins, "isolation") {
		t.Errorf("instructions do not name the backend: %q", ins)
	}
}

func TestRunCell(t *testing.T) {
	srv := newServer(t)
	cs := connect(t, srv, nil)
	out := run(t, cs, "x = 21\nprint('hi')\nimport sys\nprint('warn', file=sys.stderr)\nx * 2")
	if !out.Success || out.Stdout != "hi\n" || out.Stderr != "warn\n" || out.Result != "42" || out.Error != nil {
		t.Fatalf("got %+v", out)
	}
	if out.ExecutionTimeMS <= 0 || out.ExecutionCount != 1 {
		t.Fatalf("execution time %v, count %d", out.ExecutionTimeMS, out.ExecutionCount)
	}
	// A Python exception is a result, not a tool error.
	out = run(t, cs, "1/0")
	if out.Success || out.Error == nil || out.Error.Name != "ZeroDivisionError" || !strings.Contains(out.Error.Traceback, "ZeroDivisionError") {
		t.Fatalf("got %+v", out)
	}
}

func TestSessionStateKeptAndIsolated(t *testing.T) {
	srv := newServer(t)
	a := connect(t, srv, nil)
	b := connect(t, srv, nil)
	run(t, a, "secret = 'a-only'\nimport json")
	run(t, a, "open('note.txt', 'w').write('from a')")
	if got := run(t, a, "secret, json.dumps(1), open('note.txt').read()").Result; got != "('a-only', '1', 'from a')" {
		t.Fatalf("state not kept: %s", got)
	}
	out := run(t, b, "secret")
	if out.Success || out.Error == nil || out.Error.Name != "NameError" {
		t.Fatalf("session b sees a's variable: %+v", out)
	}
	out = run(t, b, "import os\nos.path.exists('note.txt')")
	if out.Result != "False" {
		t.Fatalf("session b sees a's file: %+v", out)
	}
	if st := srv.Stats(); st.SandboxesCreated != 2 || st.LiveSessions != 2 {
		t.Fatalf("stats %+v, want two sandboxes, two sessions", st)
	}
}

func TestImageContent(t *testing.T) {
	srv := newServer(t)
	cs := connect(t, srv, nil)
	res := call(t, cs, ToolRunCode, map[string]any{"code": pngCell})
	out := decode[RunCodeOutput](t, res)
	if !slices.Equal(out.Images, []string{"image/png", "image/svg+xml"}) {
		t.Fatalf("images %v", out.Images)
	}
	var pngs, svgs int
	for _, c := range res.Content {
		img, ok := c.(*mcp.ImageContent)
		if !ok {
			continue
		}
		switch img.MIMEType {
		case "image/png":
			pngs++
			if !bytes.HasPrefix(img.Data, []byte("\x89PNG\r\n\x1a\n")) || !bytes.Contains(img.Data, []byte("IEND")) {
				t.Fatalf("png data %q", img.Data)
			}
		case "image/svg+xml":
			svgs++
			if !bytes.HasPrefix(img.Data, []byte("<svg")) {
				t.Fatalf("svg data %q", img.Data)
			}
		}
	}
	if pngs != 1 || svgs != 1 {
		t.Fatalf("%d png and %d svg image contents, want 1 each", pngs, svgs)
	}
	if _, ok := res.Content[0].(*mcp.TextContent); !ok {
		t.Fatalf("first content is %T, want the JSON text", res.Content[0])
	}
}

const tickCell = "import time\nfor i in range(4):\n    print('tick', i)\n    time.sleep(0.25)\n'done'"

func TestProgressNotificationsWhileRunning(t *testing.T) {
	srv := newServer(t)
	var progress progressLog
	cs := connect(t, srv, &progress)
	params := &mcp.CallToolParams{Name: ToolRunCode, Arguments: map[string]any{"code": tickCell}}
	params.SetProgressToken("cell-1")
	res, err := cs.CallTool(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	returned := time.Now()
	out := decode[RunCodeOutput](t, res)
	text, n, first := progress.text()
	if out.Result != "'done'" || text != out.Stdout || n < 2 {
		t.Fatalf("%d notifications %q, stdout %q", n, text, out.Stdout)
	}
	// The first tick arrived while the cell was still sleeping.
	if lead := returned.Sub(first); lead < 400*time.Millisecond {
		t.Fatalf("first notification only %s before the result: not streamed", lead)
	}
}

func TestLogNotificationsWithoutProgressToken(t *testing.T) {
	srv := newServer(t)
	var (
		mu   = make(chan struct{}, 1)
		logs []string
	)
	mu <- struct{}{}
	client := mcp.NewClient(&mcp.Implementation{Name: "t"}, &mcp.ClientOptions{
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			<-mu
			logs = append(logs, req.Params.Data.(string))
			mu <- struct{}{}
		},
	})
	ct, st := mcp.NewInMemoryTransports()
	if _, err := srv.MCP().Connect(context.Background(), st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := client.Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if err := cs.SetLoggingLevel(context.Background(), &mcp.SetLoggingLevelParams{Level: "info"}); err != nil {
		t.Fatal(err)
	}
	out := run(t, cs, "print('one')\nprint('two')")
	<-mu
	got := strings.Join(logs, "")
	mu <- struct{}{}
	if got != out.Stdout || got != "one\ntwo\n" {
		t.Fatalf("log notifications %q, stdout %q", got, out.Stdout)
	}
}

func TestCancellationStopsCellAndSessionStaysUsable(t *testing.T) {
	srv := newServer(t)
	cs := connect(t, srv, nil)
	run(t, cs, "x = 1")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: ToolRunCode, Arguments: map[string]any{"code": "import time\ntime.sleep(30)"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CallTool: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancellation took %s", d)
	}
	// The cell's sandbox is stopped and closed, not left sleeping.
	eventually(t, 10*time.Second, "the cancelled sandbox to close", func() bool { return srv.Stats().SandboxesClosed == 1 })
	out := run(t, cs, "y = 2\ny + 1")
	if out.Result != "3" || !strings.Contains(out.Note, "new sandbox") {
		t.Fatalf("after cancellation: %+v", out)
	}
}

func TestFileRoundTrip(t *testing.T) {
	srv := newServer(t)
	cs := connect(t, srv, nil)
	text := "it's \"quoted\" \\ back\\slash\n''' triple\nünïcødé ✓\n"
	path := `sub dir/it's "odd".txt`
	w := decode[WriteFileOutput](t, call(t, cs, ToolWriteFile, map[string]any{"path": path, "content": text}))
	if w.Bytes != len(text) || !strings.HasSuffix(w.Path, `/sub dir/it's "odd".txt`) {
		t.Fatalf("write: %+v", w)
	}
	r := decode[ReadFileOutput](t, call(t, cs, ToolReadFile, map[string]any{"path": path}))
	if r.Content != text || r.Bytes != len(text) || r.Encoding != "text" || r.Path != w.Path {
		t.Fatalf("read: %+v", r)
	}
	// The code sees the same file, and the helper left no name behind.
	out := run(t, cs, "p = "+pyRepr(path)+"\nopen(p, encoding='utf-8').read() == "+pyRepr(text)+", [n for n in dir() if 'sandbox_mcp' in n]")
	if out.Result != "(True, [])" {
		t.Fatalf("cell view: %+v", out)
	}
	// Binary, every byte value.
	bin := make([]byte, 256*3)
	for i := range bin {
		bin[i] = byte(i)
	}
	enc := base64.StdEncoding.EncodeToString(bin)
	decode[WriteFileOutput](t, call(t, cs, ToolWriteFile, map[string]any{"path": "/tmp/b.bin", "content": enc, "encoding": "base64"}))
	r = decode[ReadFileOutput](t, call(t, cs, ToolReadFile, map[string]any{"path": "/tmp/b.bin", "encoding": "base64"}))
	if r.Content != enc || r.Bytes != len(bin) {
		t.Fatalf("binary read: %d bytes", r.Bytes)
	}
	msg := expectToolError(t, cs, ToolReadFile, map[string]any{"path": "/tmp/b.bin"})
	if !strings.Contains(msg, "base64") {
		t.Fatalf("reading binary as text: %q", msg)
	}
	// A file written by code is read back.
	run(t, cs, "with open('made.csv', 'w') as f:\n    f.write('a,b\\n1,2\\n')")
	if r := decode[ReadFileOutput](t, call(t, cs, ToolReadFile, map[string]any{"path": "made.csv"})); r.Content != "a,b\n1,2\n" {
		t.Fatalf("read made.csv: %+v", r)
	}
}

// pyRepr quotes s as a Python string literal by way of base64.
func pyRepr(s string) string {
	return "__import__('base64').b64decode('" + base64.StdEncoding.EncodeToString([]byte(s)) + "').decode()"
}

func TestFileAtTheSizeLimit(t *testing.T) {
	srv := newServer(t, WithMaxFileBytes(MaxFileBytesLimit))
	cs := connect(t, srv, nil)
	data := bytes.Repeat([]byte{0xfe, 'x', 0}, MaxFileBytesLimit/3)
	enc := base64.StdEncoding.EncodeToString(data)
	decode[WriteFileOutput](t, call(t, cs, ToolWriteFile, map[string]any{"path": "big.bin", "content": enc, "encoding": "base64"}))
	r := decode[ReadFileOutput](t, call(t, cs, ToolReadFile, map[string]any{"path": "big.bin", "encoding": "base64"}))
	if r.Content != enc {
		t.Fatalf("read back %d bytes, want %d", r.Bytes, len(data))
	}
	run(t, cs, "open('bigger.bin', 'wb').write(b'0' * "+strconv.Itoa(MaxFileBytesLimit+1)+")")
	if msg := expectToolError(t, cs, ToolReadFile, map[string]any{"path": "bigger.bin", "encoding": "base64"}); !strings.Contains(msg, "larger than the limit") {
		t.Fatalf("oversized read: %q", msg)
	}
}

func TestBadInputIsAToolError(t *testing.T) {
	srv := newServer(t, WithMaxCodeBytes(1000), WithMaxFileBytes(100), WithCellTimeout(2*time.Second), WithMaxCellTimeout(5*time.Second))
	cs := connect(t, srv, nil)
	cases := []struct {
		name, tool string
		args       map[string]any
		want       string
	}{
		{"empty code", ToolRunCode, map[string]any{"code": ""}, "code is empty"},
		{"blank code", ToolRunCode, map[string]any{"code": " \n\t"}, "code is empty"},
		{"missing code", ToolRunCode, map[string]any{}, "code"},
		{"code not a string", ToolRunCode, map[string]any{"code": 5}, "code"},
		{"too-large code", ToolRunCode, map[string]any{"code": strings.Repeat("#", 1001)}, "more than the limit of 1000"},
		{"negative timeout", ToolRunCode, map[string]any{"code": "1", "timeout": -1}, "negative"},
		{"timeout above maximum", ToolRunCode, map[string]any{"code": "1", "timeout": 6}, "maximum"},
		{"unknown language", ToolRunCode, map[string]any{"code": "1", "language": "cobol"}, "not supported"},
		{"unknown argument", ToolRunCode, map[string]any{"code": "1", "bogus": true}, "bogus"},
		{"empty path", ToolWriteFile, map[string]any{"path": "", "content": "x"}, "path is empty"},
		{"NUL in path", ToolWriteFile, map[string]any{"path": "a\x00b", "content": "x"}, "NUL"},
		{"too-large text file", ToolWriteFile, map[string]any{"path": "a", "content": strings.Repeat("x", 101)}, "more than the limit of 100"},
		{"too-large base64 file", ToolWriteFile, map[string]any{"path": "a", "content": base64.StdEncoding.EncodeToString(make([]byte, 300)), "encoding": "base64"}, "more than the limit of 100"},
		{"bad base64", ToolWriteFile, map[string]any{"path": "a", "content": "%%%", "encoding": "base64"}, "not valid base64"},
		{"bad encoding", ToolReadFile, map[string]any{"path": "a", "encoding": "rot13"}, "not text or base64"},
		{"missing file", ToolReadFile, map[string]any{"path": "nope.txt"}, "FileNotFoundError"},
		{"directory as file", ToolReadFile, map[string]any{"path": "/tmp"}, "IsADirectoryError"},
		{"write to read-only place", ToolWriteFile, map[string]any{"path": "/usr/x", "content": "x"}, "Error"},
		{"unknown tool", "no_such_tool", map[string]any{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.tool == "no_such_tool" {
				_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: c.tool, Arguments: c.args})
				if err == nil {
					t.Fatal("unknown tool accepted")
				}
				return
			}
			if msg := expectToolError(t, cs, c.tool, c.args); !strings.Contains(msg, c.want) {
				t.Fatalf("error %q does not say %q", msg, c.want)
			}
		})
	}
	// The server and the session survived all of it.
	if out := run(t, cs, "40 + 2"); out.Result != "42" {
		t.Fatalf("after bad input: %+v", out)
	}
}

func TestTimeoutReplacesSandbox(t *testing.T) {
	srv := newServer(t)
	cs := connect(t, srv, nil)
	run(t, cs, "x = 1")
	msg := expectToolError(t, cs, ToolRunCode, map[string]any{"code": "while True: pass", "timeout": 0.5})
	if !strings.Contains(msg, "timeout of 500ms") || !strings.Contains(msg, "replaced") {
		t.Fatalf("timeout error: %q", msg)
	}
	out := run(t, cs, "'x' in dir()")
	if out.Result != "False" || !strings.Contains(out.Note, "new sandbox") {
		t.Fatalf("after timeout: %+v", out)
	}
}

func TestCrashingCellReplacesSandbox(t *testing.T) {
	srv := newServer(t)
	cs := connect(t, srv, nil)
	run(t, cs, "x = 1")
	msg := expectToolError(t, cs, ToolRunCode, map[string]any{"code": "import os\nos._exit(3)"})
	if !strings.Contains(msg, "replaced") {
		t.Fatalf("crash error: %q", msg)
	}
	out := run(t, cs, "2 + 2")
	if out.Result != "4" || out.Note == "" {
		t.Fatalf("after crash: %+v", out)
	}
	eventually(t, 10*time.Second, "the crashed sandbox to close", func() bool {
		st := srv.Stats()
		return st.SandboxesCreated == 2 && st.SandboxesClosed == 1
	})
}

// TestCellOverTheMemoryBudget: the model is told the cell used too much
// memory and what to do, not that the sandbox crashed for no reason.
func TestCellOverTheMemoryBudget(t *testing.T) {
	srv := newServerOn(t, []local.Option{local.WithMemoryBudget(128 << 20)})
	cs := connect(t, srv, nil)
	msg := expectToolError(t, cs, ToolRunCode, map[string]any{"code": "import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n        b = b'x' * (60 << 20)\n        time.sleep(60)\ntime.sleep(60)"})
	if !strings.Contains(msg, "budget of 128.0 MiB") || !strings.Contains(msg, "Use less memory") {
		t.Fatalf("error: %q", msg)
	}
	if out := run(t, cs, "2 + 2"); out.Result != "4" {
		t.Fatalf("after the stop: %+v", out)
	}
}

func TestSessionBound(t *testing.T) {
	srv := newServer(t, WithMaxSessions(1))
	a := connect(t, srv, nil)
	b := connect(t, srv, nil)
	run(t, a, "1")
	msg := expectToolError(t, b, ToolRunCode, map[string]any{"code": "1"})
	if !strings.Contains(msg, "too many live sandbox sessions") || !strings.Contains(msg, "allows 1") {
		t.Fatalf("bound error: %q", msg)
	}
	// When a ends, b gets its sandbox.
	a.Close()
	eventually(t, 10*time.Second, "a's sandbox to close", func() bool { return srv.Stats().LiveSessions == 0 })
	if out := run(t, b, "'b'"); out.Result != "'b'" {
		t.Fatalf("b after a left: %+v", out)
	}
}

func TestIdleSessionExpires(t *testing.T) {
	srv := newServer(t, WithIdleTimeout(200*time.Millisecond))
	cs := connect(t, srv, nil)
	run(t, cs, "x = 1")
	eventually(t, 10*time.Second, "the idle sandbox to close", func() bool {
		st := srv.Stats()
		return st.LiveSessions == 0 && st.SandboxesClosed == 1
	})
	msg := expectToolError(t, cs, ToolRunCode, map[string]any{"code": "x"})
	if !strings.Contains(msg, "unknown session") || !strings.Contains(msg, "reset_session") {
		t.Fatalf("expired session: %q", msg)
	}
	decode[ResetSessionOutput](t, call(t, cs, ToolResetSession, nil))
	if out := run(t, cs, "'x' in dir()"); out.Result != "False" {
		t.Fatalf("after reset: %+v", out)
	}
}

func TestResetSession(t *testing.T) {
	srv := newServer(t)
	cs := connect(t, srv, nil)
	if r := decode[ResetSessionOutput](t, call(t, cs, ToolResetSession, nil)); r.Replaced {
		t.Fatalf("reset before any call: %+v", r)
	}
	run(t, cs, "x = 1\nopen('f', 'w').write('1')")
	if r := decode[ResetSessionOutput](t, call(t, cs, ToolResetSession, nil)); !r.Replaced {
		t.Fatalf("reset: %+v", r)
	}
	if out := run(t, cs, "import os\n'x' in dir(), os.path.exists('f')"); out.Result != "(False, False)" {
		t.Fatalf("after reset: %+v", out)
	}
	eventually(t, 10*time.Second, "the old sandbox to close", func() bool { return srv.Stats().SandboxesClosed == 1 })
}

func TestOutputCutForTheClient(t *testing.T) {
	srv := newServer(t, WithMaxOutputChars(100))
	cs := connect(t, srv, nil)
	out := run(t, cs, "print('é' * 5000)")
	if !out.Truncated || !strings.HasPrefix(out.Stdout, strings.Repeat("é", 100)) || !strings.Contains(out.Stdout, "characters cut") {
		t.Fatalf("got %d chars, truncated %v", len(out.Stdout), out.Truncated)
	}
}

func TestNoSandboxOrGoroutineLeftAfterClientsDisconnect(t *testing.T) {
	base := runtime.NumGoroutine()
	srv := newServer(t)
	var sessions []*mcp.ClientSession
	for i := 0; i < 3; i++ {
		cs := connect(t, srv, nil)
		run(t, cs, "x = 1")
		sessions = append(sessions, cs)
	}
	var progress progressLog
	cs := connect(t, srv, &progress)
	params := &mcp.CallToolParams{Name: ToolRunCode, Arguments: map[string]any{"code": "print(1)"}}
	params.SetProgressToken(1)
	if _, err := cs.CallTool(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	sessions = append(sessions, cs)
	for _, cs := range sessions {
		cs.Close()
	}
	eventually(t, 10*time.Second, "every sandbox to close", func() bool {
		st := srv.Stats()
		return st.LiveSessions == 0 && st.KnownSessions == 0 && st.SandboxesCreated == 4 && st.SandboxesClosed == 4
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	goroutinesBack(t, base)
}

func TestPanicInHandlerIsAToolError(t *testing.T) {
	srv := newServer(t)
	h := instrument(srv, "boom", func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, struct{}, error) {
		panic("kaboom")
	})
	_, _, err := h(context.Background(), &mcp.CallToolRequest{}, struct{}{})
	var te *toolError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "kaboom") {
		t.Fatalf("got %v", err)
	}
}

func TestRetryOnlySandboxCreation(t *testing.T) {
	create := &sandbox.CreateError{Provider: "x", Err: &sandbox.CrashError{SandboxID: "s", Reason: "r"}}
	if !creationFailed(create) {
		t.Fatal("a retryable creation failure is not retried")
	}
	if creationFailed(&sandbox.RunError{Err: &sandbox.CrashError{SandboxID: "s", Reason: "r"}}) {
		t.Fatal("a crashed cell would be run twice")
	}
}

func TestClosedServerRefusesCalls(t *testing.T) {
	srv := newServer(t)
	cs := connect(t, srv, nil)
	run(t, cs, "1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The session was ended with the server: a call fails, it does not hang.
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: ToolRunCode, Arguments: map[string]any{"code": "1"}})
	if err == nil && !res.IsError {
		t.Fatalf("call after Close succeeded: %s", resultText(res))
	}
	if st := srv.Stats(); st.SandboxesCreated != st.SandboxesClosed {
		t.Fatalf("stats after Close: %+v", st)
	}
}

func TestConcurrentCallsOnOneSessionShareItsSandbox(t *testing.T) {
	srv := newServer(t)
	cs := connect(t, srv, nil)
	run(t, cs, "hits = []")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: ToolRunCode, Arguments: map[string]any{"code": "import time\ntime.sleep(0.05)\nhits.append(" + strconv.Itoa(i) + ")"}})
			if err == nil && res.IsError {
				err = errors.New(resultText(res))
			}
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if out := run(t, cs, "sorted(hits)"); out.Result != "[0, 1, 2, 3, 4, 5, 6, 7]" {
		t.Fatalf("hits %s", out.Result)
	}
	if st := srv.Stats(); st.SandboxesCreated != 1 {
		t.Fatalf("%d sandboxes for one session", st.SandboxesCreated)
	}
}

func TestResetStopsARunningCell(t *testing.T) {
	srv := newServer(t)
	cs := connect(t, srv, nil)
	run(t, cs, "x = 1")
	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		res, _ := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: ToolRunCode, Arguments: map[string]any{"code": "import time\ntime.sleep(30)"}})
		done <- res
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if r := decode[ResetSessionOutput](t, call(t, cs, ToolResetSession, nil)); !r.Replaced {
		t.Fatalf("reset: %+v", r)
	}
	select {
	case res := <-done:
		if res == nil || !res.IsError {
			t.Fatalf("the stopped cell: %+v", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the running cell was not stopped by reset")
	}
	t.Logf("cell stopped %s after reset", time.Since(start).Round(time.Millisecond))
	if out := run(t, cs, "'x' in dir()"); out.Result != "False" {
		t.Fatalf("after reset: %+v", out)
	}
}

func TestPathsCannotInjectCode(t *testing.T) {
	srv := newServer(t)
	cs := connect(t, srv, nil)
	for _, p := range []string{
		"a\")\nimport os\nos.remove('x')\n(\"",
		"b'''\n\"\"\"\\\\.txt",
		"c\\x00d; __import__('os').system('touch /tmp/pwned')",
	} {
		decode[WriteFileOutput](t, call(t, cs, ToolWriteFile, map[string]any{"path": p, "content": p}))
		if r := decode[ReadFileOutput](t, call(t, cs, ToolReadFile, map[string]any{"path": p})); r.Content != p {
			t.Fatalf("path %q read back %q", p, r.Content)
		}
	}
	out := run(t, cs, "import os\nsorted(os.listdir('.')), os.path.exists('/tmp/pwned')")
	if !strings.Contains(out.Result, "a\")\\nimport os") || !strings.HasSuffix(out.Result, "False)") {
		t.Fatalf("listing %s", out.Result)
	}
}
