package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ttadev/primitives/internal/mcpserver"
)

// binary is the command built once for the package's tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sandbox-mcp-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sandbox-mcp")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "go build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	watchSandboxes()
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// command returns the built binary with args, without E2B_API_KEY in its
// environment so that it uses the local sandbox.
func command(args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "E2B_API_KEY=") && !strings.HasPrefix(kv, envToken+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

type progressLog struct {
	mu   sync.Mutex
	msgs []string
}

func (p *progressLog) handler(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
	p.mu.Lock()
	p.msgs = append(p.msgs, req.Params.Message)
	p.mu.Unlock()
}

func (p *progressLog) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.msgs, "")
}

// startStdio starts the binary as an MCP server over stdio and connects
// the SDK's client to it. stderr collects the server's log.
func startStdio(t testing.TB, progress *progressLog, stderr io.Writer, args ...string) (*mcp.ClientSession, *exec.Cmd) {
	t.Helper()
	cmd := command(args...)
	cmd.Stderr = stderr
	opts := &mcp.ClientOptions{}
	if progress != nil {
		opts.ProgressNotificationHandler = progress.handler
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "stdio-test", Version: "1"}, opts)
	cs, err := client.Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect to %s: %v", binary, err)
	}
	return cs, cmd
}

func callTool(t testing.TB, cs *mcp.ClientSession, tool string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s(%v): %v", tool, args, err)
	}
	return res
}

func structured[T any](t testing.TB, res *mcp.CallToolResult) T {
	t.Helper()
	var out T
	if res.IsError {
		t.Fatalf("tool error: %s", text(res))
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func runCell(t testing.TB, cs *mcp.ClientSession, code string) mcpserver.RunCodeOutput {
	t.Helper()
	return structured[mcpserver.RunCodeOutput](t, callTool(t, cs, mcpserver.ToolRunCode, map[string]any{"code": code}))
}

// processesOf lists the live (not zombie) processes running the built
// binary other than except: the servers the tests started.
func processesOf(bin string, except int) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == except {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// stat returns the parent pid and the state letter of pid.
func stat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command may hold spaces
	if i < 0 || i+4 > len(s) {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[0][0], true
}

func alive(pid int) bool {
	_, state, ok := stat(pid)
	return ok && state != 'Z' && state != 'X'
}

// sandboxesOf lists the live child processes of a server: each local
// sandbox is one (its init), whatever program that init runs.
func sandboxesOf(server int) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, state, ok := stat(pid); ok && ppid == server && state != 'Z' && state != 'X' {
			pids = append(pids, pid)
		}
	}
	return pids
}

// seen records every sandbox of every server the tests started, so that a
// sandbox that outlives its server (reparented, no longer its child) is
// still found.
var (
	seenMu sync.Mutex
	seen   = map[int]bool{}
	watch  sync.Once
)

func watchSandboxes() {
	watch.Do(func() {
		go func() {
			for {
				for _, server := range processesOf(binary, -1) {
					for _, pid := range sandboxesOf(server) {
						seenMu.Lock()
						seen[pid] = true
						seenMu.Unlock()
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	})
}

// waitNoProcesses waits until no server of the tests and no sandbox they
// started is alive.
func waitNoProcesses(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := processesOf(binary, -1)
		seenMu.Lock()
		for pid := range seen {
			if alive(pid) {
				left = append(left, pid)
			}
		}
		seenMu.Unlock()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes of %s (servers or their sandboxes) left: %v", binary, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const pngCell = `import struct, zlib
def _chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
class Picture:
    def _repr_png_(self):
        raw = b"\x00\xff\x00\x00"
        ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")
Picture()
`

func TestStdio(t *testing.T) {
	var progress progressLog
	var stderr bytes.Buffer
	cs, cmd := startStdio(t, &progress, &stderr, "-max-code-bytes", "1000", "-max-timeout", "5s", "-timeout", "2s")

	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tools.Tools) != 4 {
		t.Fatalf("%d tools", len(tools.Tools))
	}
	for _, tool := range tools.Tools {
		if tool.InputSchema == nil || tool.OutputSchema == nil {
			t.Fatalf("%s has no schema", tool.Name)
		}
	}
	if ins := cs.InitializeResult().Instructions; !strings.Contains(ins, "backend: local") || !strings.Contains(ins, "seccomp") {
		t.Fatalf("instructions: %q", ins)
	}

	// A cell, and state kept between calls.
	runCell(t, cs, "import math\nr = 2")
	if out := runCell(t, cs, "print('area')\nround(math.pi * r * r, 2)"); out.Stdout != "area\n" || out.Result != "12.57" {
		t.Fatalf("cell: %+v", out)
	}

	// An image as image content.
	res := callTool(t, cs, mcpserver.ToolRunCode, map[string]any{"code": pngCell})
	var png *mcp.ImageContent
	for _, c := range res.Content {
		if img, ok := c.(*mcp.ImageContent); ok {
			png = img
		}
	}
	if png == nil || png.MIMEType != "image/png" || !bytes.HasPrefix(png.Data, []byte("\x89PNG")) {
		t.Fatalf("image content: %+v", res.Content)
	}

	// Progress while the cell runs.
	params := &mcp.CallToolParams{Name: mcpserver.ToolRunCode, Arguments: map[string]any{"code": "import time\nfor i in range(3):\n    print('step', i)\n    time.sleep(0.2)"}}
	params.SetProgressToken("p")
	res, err = cs.CallTool(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if out := structured[mcpserver.RunCodeOutput](t, res); progress.text() != out.Stdout || out.Stdout != "step 0\nstep 1\nstep 2\n" {
		t.Fatalf("progress %q, stdout %q", progress.text(), out.Stdout)
	}

	// Cancellation stops the cell; the session stays usable.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: mcpserver.ToolRunCode, Arguments: map[string]any{"code": "import time\ntime.sleep(60)"}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	if out := runCell(t, cs, "6 * 7"); out.Result != "42" || time.Since(start) > 10*time.Second {
		t.Fatalf("after cancellation: %+v", out)
	}
	// The cancelled sandbox is gone: one sandbox process left (the live one).
	deadline := time.Now().Add(10 * time.Second)
	for n := len(sandboxesOf(cmd.Process.Pid)); n != 1; n = len(sandboxesOf(cmd.Process.Pid)) {
		if time.Now().After(deadline) {
			t.Fatalf("%d sandbox processes after cancellation, want 1", n)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A file round trip.
	payload := "naïve \"quotes\" and 'apostrophes' \\ \n"
	structured[mcpserver.WriteFileOutput](t, callTool(t, cs, mcpserver.ToolWriteFile, map[string]any{"path": "data/in.txt", "content": payload}))
	if r := structured[mcpserver.ReadFileOutput](t, callTool(t, cs, mcpserver.ToolReadFile, map[string]any{"path": "data/in.txt"})); r.Content != payload {
		t.Fatalf("round trip: %q", r.Content)
	}
	bin := []byte{0, 1, 2, 0xff, 0xfe, '\n', '"'}
	enc := base64.StdEncoding.EncodeToString(bin)
	structured[mcpserver.WriteFileOutput](t, callTool(t, cs, mcpserver.ToolWriteFile, map[string]any{"path": "b.bin", "content": enc, "encoding": "base64"}))
	if out := runCell(t, cs, "list(open('b.bin', 'rb').read())"); out.Result != "[0, 1, 2, 255, 254, 10, 34]" {
		t.Fatalf("binary file seen by code: %s", out.Result)
	}

	// Bad input: tool errors, and the server lives on.
	for _, c := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{mcpserver.ToolRunCode, map[string]any{"code": "  "}, "code is empty"},
		{mcpserver.ToolRunCode, map[string]any{"code": strings.Repeat("x", 1001)}, "limit of 1000"},
		{mcpserver.ToolRunCode, map[string]any{"code": "1", "timeout": 60}, "maximum"},
		{mcpserver.ToolRunCode, map[string]any{"code": "1", "language": "ruby"}, "not supported"},
		{mcpserver.ToolRunCode, map[string]any{"code": "while True: pass", "timeout": 0.3}, "timeout"},
		{mcpserver.ToolRunCode, map[string]any{"code": "import os\nos._exit(1)"}, "replaced"},
		{mcpserver.ToolReadFile, map[string]any{"path": "missing"}, "FileNotFoundError"},
		{mcpserver.ToolWriteFile, map[string]any{"path": "x", "content": "!!", "encoding": "base64"}, "base64"},
	} {
		res := callTool(t, cs, c.tool, c.args)
		if !res.IsError || !strings.Contains(text(res), c.want) {
			t.Fatalf("%s(%v): %v %q, want a tool error saying %q", c.tool, c.args, res.IsError, text(res), c.want)
		}
	}
	if out := runCell(t, cs, "'alive'"); out.Result != "'alive'" {
		t.Fatalf("after bad input: %+v", out)
	}

	// Disconnecting ends the server and every sandbox.
	if err := cs.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if cmd.ProcessState == nil || !cmd.ProcessState.Success() {
		t.Fatalf("server exit: %v\n%s", cmd.ProcessState, stderr.String())
	}
	waitNoProcesses(t)

	// The log went to stderr and names the backend and its isolation.
	log := stderr.String()
	if !strings.Contains(log, `msg="sandbox backend" backend=local`) || !strings.Contains(log, "isolation=") {
		t.Fatalf("stderr log:\n%s", log)
	}
}

func TestStdioClientsIsolated(t *testing.T) {
	a, _ := startStdio(t, nil, io.Discard)
	b, _ := startStdio(t, nil, io.Discard)
	runCell(t, a, "token = 'a'")
	if out := runCell(t, b, "'token' in dir()"); out.Result != "False" {
		t.Fatalf("b sees a's state: %+v", out)
	}
	if out := runCell(t, a, "token"); out.Result != "'a'" {
		t.Fatalf("a lost its state: %+v", out)
	}
	a.Close()
	b.Close()
	waitNoProcesses(t)
}

// TestStdoutCarriesOnlyProtocol speaks raw JSON-RPC to the binary and
// checks that every line it writes on stdout is a JSON-RPC message.
func TestStdoutCarriesOnlyProtocol(t *testing.T) {
	cmd := command()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	fmt.Fprintln(in, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	fmt.Fprintln(in, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"run_code","arguments":{"code":"print('to the cell stdout')\n1"}}}`)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var lines int
	for sc.Scan() {
		var msg struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      int             `json:"id"`
			Result  json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil || msg.JSONRPC != "2.0" {
			t.Fatalf("stdout line is not JSON-RPC: %q", sc.Text())
		}
		lines++
		if msg.ID == 2 {
			if !bytes.Contains(msg.Result, []byte(`to the cell stdout`)) {
				t.Fatalf("result: %s", msg.Result)
			}
			break
		}
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	if lines != 2 || !strings.Contains(stderr.String(), "sandbox backend") {
		t.Fatalf("%d lines; stderr:\n%s", lines, stderr.String())
	}
	waitNoProcesses(t)
}

var urlRE = regexp.MustCompile(`url=(http://\S+)`)

// TestHTTPMode serves streamable HTTP from the binary with a bearer token
// and stops it with SIGTERM.
func TestHTTPMode(t *testing.T) {
	cmd := command("-http", "127.0.0.1:0")
	cmd.Env = append(cmd.Env, envToken+"=tok-123")
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var log bytes.Buffer
	urlc := make(chan string, 1)
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	var url string
	select {
	case url = <-urlc:
	case <-time.After(20 * time.Second):
		t.Fatal("no URL logged")
	}
	if resp, err := http.Post(url, "application/json", strings.NewReader("{}")); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	hc := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer tok-123")
		return http.DefaultTransport.RoundTrip(r)
	})}
	client := mcp.NewClient(&mcp.Implementation{Name: "http-test"}, nil)
	cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCell(t, cs, "k = 5")
	if out := runCell(t, cs, "k * 2"); out.Result != "10" {
		t.Fatalf("over HTTP: %+v", out)
	}
	// SIGTERM with the client still connected: the server ends the
	// session, closes the sandbox and exits promptly.
	stopAt := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if d := time.Since(stopAt); d > 3*time.Second {
		t.Fatalf("exit took %s after SIGTERM", d)
	}
	cs.Close()
	pw.Close()
	<-logDone
	waitNoProcesses(t)
	if strings.Contains(log.String(), "tok-123") {
		t.Fatal("the token was logged")
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestFlagErrors(t *testing.T) {
	t.Setenv("E2B_API_KEY", "")
	t.Setenv(envToken, "")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-http", "0.0.0.0:8931"}, 2, "refusing to listen"},
		{[]string{"-http", ":8931"}, 2, "without a bearer token"},
		{[]string{"-backend", "docker"}, 1, "unknown backend"},
		{[]string{"-backend", "e2b"}, 1, "E2B_API_KEY"},
		{[]string{"-max-file-bytes", "99999999"}, 2, "-max-file-bytes"},
		{[]string{"-max-timeout", "1s", "-timeout", "2s"}, 2, "-max-timeout"},
		{[]string{"-log-level", "loud"}, 2, "-log-level"},
		{[]string{"-no-such-flag"}, 2, "no-such-flag"},
		{[]string{"-version"}, 0, "sandbox-mcp"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), c.args, &stderr); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, want %d; stderr %q should say %q", c.args, code, c.code, stderr.String(), c.want)
		}
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var metricsRE = regexp.MustCompile(`msg="serving metrics" url=(http://\S+)`)

// TestMetrics checks that the binary's tool calls and cells are counted in
// the metrics it serves with -metrics.
func TestMetrics(t *testing.T) {
	var stderr syncBuffer
	cs, _ := startStdio(t, nil, &stderr, "-metrics", "127.0.0.1:0")
	defer cs.Close()
	runCell(t, cs, "1 + 1")
	callTool(t, cs, mcpserver.ToolRunCode, map[string]any{"code": ""})
	m := metricsRE.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no metrics URL in the log:\n%s", stderr.String())
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, re := range []string{
		`mcp_tool_calls_total\{[^}]*mcp_outcome="ok",mcp_tool="run_code"[^}]*\} 1`,
		`mcp_tool_calls_total\{[^}]*mcp_outcome="tool_error",mcp_tool="run_code"[^}]*\} 1`,
		`code_execution_requests_total\{[^}]*\} 1`,
		`code_execution_success_total\{[^}]*\} 1`,
		`mcp_tool_call_duration_seconds_count\{[^}]*\} 2`,
		`mcp_sandbox_sessions\{[^}]*\} 1`,
	} {
		if !regexp.MustCompile(re).Match(body) {
			t.Errorf("metrics lack %s:\n%s", re, grepLines(string(body), "mcp_|code_execution"))
		}
	}
	if code := run(context.Background(), []string{"-metrics", "0.0.0.0:0"}, io.Discard); code != 2 {
		t.Fatalf("-metrics on a public address: exit %d, want 2", code)
	}
}

func grepLines(s, pattern string) string {
	re := regexp.MustCompile(pattern)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if re.MatchString(l) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
