//go:build linux

package mcptool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/agent/mcptool"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/recovery"
)

// alive reports whether pid is a live process (not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

// childrenOf lists the live children of pid.
func childrenOf(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) && alive(p) {
			out = append(out, p)
		}
	}
	return out
}

// buildSandboxMCP builds cmd/sandbox-mcp into a temporary directory.
func buildSandboxMCP(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sandbox-mcp")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/ttadev/primitives/cmd/sandbox-mcp").CombinedOutput()
	if err != nil {
		t.Fatalf("go build sandbox-mcp: %v\n%s", err, out)
	}
	return bin
}

// runCodeOutput is the part of run_code's JSON the tests read.
type runCodeOutput struct {
	Success bool   `json:"success"`
	Result  string `json:"result"`
	Error   *struct {
		Name string `json:"name"`
	} `json:"error"`
	Images []string `json:"images"`
}

func cell(t *testing.T, runCode agent.Tool, code string) ([]llm.Block, runCodeOutput) {
	t.Helper()
	args, _ := json.Marshal(map[string]string{"code": code})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	blocks, err := runCode.Call(ctx, args)
	if err != nil {
		t.Fatalf("run_code %q: %v", code, err)
	}
	var out runCodeOutput
	if err := json.Unmarshal([]byte(text(blocks)), &out); err != nil {
		t.Fatalf("run_code %q: text %q: %v", code, text(blocks), err)
	}
	return blocks, out
}

// plotCell draws a figure with numpy and matplotlib and shows it: the
// sandbox sends it as a PNG, cropped to what was drawn as a notebook does.
const plotCell = `import matplotlib.pyplot as plt
import numpy as np
x = np.linspace(0, 2 * np.pi, 100)
fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
ax.plot(x, np.sin(x))
plt.show()
`

// TestSandboxMCP runs the module's own MCP server over stdio on the local
// sandbox and uses its tools as agent tools.
func TestSandboxMCP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs sandbox-mcp")
	}
	bin := buildSandboxMCP(t)
	logs := &lockedBuffer{b: new(bytes.Buffer)}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sandbox-mcp's log:\n%s", logs.String())
		}
	})
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "E2B_API_KEY=") {
			env = append(env, kv)
		}
	}
	server := mcptool.Stdio{Command: bin, Args: []string{"-backend", "local"}, Env: env, Stderr: logs}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := mcptool.Connect(ctx, server, mcptool.WithPrefix("py_"))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer c.Close()

	t.Run("tools", func(t *testing.T) {
		want := []string{"py_read_file", "py_reset_session", "py_run_code", "py_write_file"}
		got := names(c.Tools())
		for _, w := range want {
			if !strings.Contains(fmt.Sprint(got), w) {
				t.Errorf("tools = %v, want %v among them", got, want)
			}
		}
		def := find(t, c, "py_run_code").Definition()
		var schema struct {
			Type       string
			Properties map[string]json.RawMessage
			Required   []string
		}
		if err := json.Unmarshal(def.InputSchema, &schema); err != nil {
			t.Fatal(err)
		}
		if schema.Type != "object" || schema.Properties["code"] == nil || fmt.Sprint(schema.Required) != "[code]" {
			t.Errorf("run_code schema = %s", def.InputSchema)
		}
		if !strings.Contains(def.Description, "Python") {
			t.Errorf("run_code description = %q", def.Description)
		}
	})

	runCode := find(t, c, "py_run_code")
	t.Run("1+1", func(t *testing.T) {
		_, out := cell(t, runCode, "1+1")
		if !out.Success || out.Result != "2" {
			t.Errorf("1+1 = %+v", out)
		}
	})

	t.Run("bad code", func(t *testing.T) {
		// A Python exception is the cell's result, not a failure of the
		// tool: the model reads it and corrects the code.
		_, out := cell(t, runCode, "1/0")
		if out.Success || out.Error == nil || out.Error.Name != "ZeroDivisionError" {
			t.Errorf("1/0 = %+v", out)
		}
		_, out = cell(t, runCode, "def f(:\n  pass")
		if out.Success || out.Error == nil || out.Error.Name != "SyntaxError" {
			t.Errorf("syntax error = %+v", out)
		}
		// Code the server refuses is an error result: a tool error.
		_, err := call(t, runCode, `{"code":"   "}`)
		if te := toolError(t, err); !strings.Contains(te.Message, "code is empty") {
			t.Errorf("empty code: %q", te.Message)
		}
		_, err = call(t, runCode, `{"cod":"1"}`)
		toolError(t, err)
	})

	t.Run("matplotlib", func(t *testing.T) {
		blocks, out := cell(t, runCode, plotCell)
		if !out.Success || fmt.Sprint(out.Images) != "[image/png]" {
			t.Fatalf("plot cell: %s", text(blocks))
		}
		var img *llm.Image
		for _, b := range blocks {
			if i, ok := b.(llm.Image); ok {
				img = &i
			}
		}
		if img == nil {
			t.Fatalf("no llm.Image among %d blocks", len(blocks))
		}
		if img.MediaType != "image/png" {
			t.Errorf("media type %q", img.MediaType)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(img.Data))
		if err != nil {
			t.Fatalf("the image is not a PNG: %v", err)
		}
		// The figure is 100x75; the sandbox crops it to what was drawn,
		// tick labels included, as a notebook does.
		if cfg.Width < 60 || cfg.Width > 150 || cfg.Height < 45 || cfg.Height > 120 {
			t.Errorf("image is %dx%d, want about the figure's 100x75", cfg.Width, cfg.Height)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		if _, out := cell(t, runCode, "x = 1"); !out.Success {
			t.Fatal(out)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		_, err := runCode.Call(ctx, json.RawMessage(`{"code":"import time\ntime.sleep(30)"}`))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled cell: %v", err)
		}
		// The server stopped the cell and replaced its sandbox: a cell it
		// had not heard of being cancelled would still hold the session,
		// and x would still be there.
		_, out := cell(t, runCode, "'x' in dir()")
		if !out.Success || out.Result != "False" {
			t.Errorf("after the cancelled cell: %+v", out)
		}
	})

	t.Run("killed mid-call", func(t *testing.T) {
		pid, _ := mcptool.ServerProcess(c)
		sandboxes := childrenOf(pid)
		if len(sandboxes) == 0 {
			t.Fatalf("sandbox-mcp (pid %d) has no sandbox process", pid)
		}
		done := make(chan error, 1)
		go func() {
			_, err := call(t, runCode, `{"code":"import time\ntime.sleep(60)"}`)
			done <- err
		}()
		time.Sleep(300 * time.Millisecond) // let the cell start
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var err error
		select {
		case err = <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the call did not end when its server died")
		}
		if _, ok := errors.AsType[*agent.ToolError](err); ok {
			t.Fatalf("a dead server became a tool error: %v", err)
		}
		ce, ok := errors.AsType[*mcptool.ConnectionError](err)
		if !ok || !ce.InFlight || recovery.IsRetryable(err) {
			t.Fatalf("err = %v (retryable %v), want a ConnectionError in flight, not retryable", err, recovery.IsRetryable(err))
		}
		// The next call starts a new server; the old one's state is gone.
		_, out := cell(t, runCode, "'time' in dir()")
		if !out.Success || out.Result != "False" {
			t.Errorf("new server: %+v", out)
		}
		newPID, _ := mcptool.ServerProcess(c)
		if newPID == pid || newPID == 0 {
			t.Errorf("server pid %d after the loss, was %d", newPID, pid)
		}
		for _, p := range append(sandboxes, pid) {
			waitGone(t, p)
		}
	})

	t.Run("close", func(t *testing.T) {
		if _, out := cell(t, runCode, "x = 1"); !out.Success {
			t.Fatal(out)
		}
		pid, state := mcptool.ServerProcess(c)
		sandboxes := childrenOf(pid)
		if len(sandboxes) == 0 {
			t.Fatalf("sandbox-mcp (pid %d) has no sandbox process", pid)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		// Close returns once the process is reaped: it exited by itself
		// when its stdin closed.
		st := state()
		if st == nil {
			t.Fatal("Close returned before the server was reaped")
		}
		if !st.Exited() || st.ExitCode() != 0 {
			t.Errorf("sandbox-mcp ended with %v, want a clean exit on the end of its stdin", st)
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("pid %d after Close: kill(0) = %v, want ESRCH", pid, err)
		}
		for _, p := range sandboxes {
			waitGone(t, p)
		}
		if _, err := call(t, runCode, `{"code":"1"}`); !errors.Is(err, mcptool.ErrClosed) {
			t.Errorf("call after Close: %v", err)
		}
	})
}

// waitGone waits up to 10 s for pid to be gone (reaped or a zombie).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Errorf("process %d is still alive", pid)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStubbornServerIsKilled(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	server := mcptool.Stdio{
		Command:     exe,
		Args:        []string{"-test.run=^$"},
		Env:         append(os.Environ(), envServer+"=stubborn"),
		StopTimeout: 200 * time.Millisecond,
	}
	c, err := mcptool.Connect(context.Background(), server)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := call(t, find(t, c, "child_pid"), `{}`)
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(text(blocks))
	if err != nil {
		t.Fatal(err)
	}
	pid, state := mcptool.ServerProcess(c)
	if !alive(pid) || !alive(child) {
		t.Fatalf("server %d or its child %d is not running", pid, child)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	st := state()
	if st == nil {
		t.Fatal("Close returned before the server was reaped")
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("the server ended with %v, want SIGKILL", st)
	}
	if alive(pid) {
		t.Errorf("server %d alive after Close", pid)
	}
	// The child got its group's SIGKILL; it is gone, or a zombie waiting
	// for its new parent.
	waitGone(t, child)
}
