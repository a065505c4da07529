//go:build linux

package local

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
)

// One call builds provider, pool and primitive; one Close releases all of
// them, and provider options, code options and the telemetry option each
// reach their part.
func TestNewCodeExecutionPrimitiveOwnsItsProvider(t *testing.T) {
	ctx := context.Background()
	exec, err := NewCodeExecutionPrimitive(
		observability.WithLogger(quiet),
		WithMaxOpenFiles(77), // a provider option
		WithCodeOptions(sandbox.SessionMode(), sandbox.WithTimeout(7*time.Second)),
	)
	if err != nil {
		t.Fatalf("NewCodeExecutionPrimitive: %v", err)
	}
	p, ok := exec.Pool().Provider().(*Provider)
	if !ok {
		t.Fatalf("provider is %T, want *local.Provider", exec.Pool().Provider())
	}
	out, err := exec.Execute(ctx, sandbox.CodeInput{Code: "import resource\nx = 5\nprint(resource.getrlimit(resource.RLIMIT_NOFILE)[0])"})
	if err != nil || !out.Success {
		t.Fatalf("Execute: %v %+v", err, out)
	}
	if strings.TrimSpace(out.Stdout) != "77" {
		t.Errorf("RLIMIT_NOFILE in the sandbox = %q, want 77 (provider option lost)", out.Stdout)
	}
	// SessionMode reached the pool: the variable survives.
	out, err = exec.Execute(ctx, sandbox.CodeInput{Code: "print(x)"})
	if err != nil || strings.TrimSpace(out.Stdout) != "5" {
		t.Fatalf("second Execute in session mode: %v %+v", err, out)
	}
	p.mu.Lock()
	live := len(p.sandboxes)
	p.mu.Unlock()
	if live != 1 {
		t.Fatalf("%d live sandboxes before Close, want 1", live)
	}
	var dirs []string
	p.mu.Lock()
	for s := range p.sandboxes {
		dirs = append(dirs, s.dirs.base)
	}
	p.mu.Unlock()

	if err := exec.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	p.mu.Lock()
	closed, live := p.closed, len(p.sandboxes)
	p.mu.Unlock()
	if !closed || live != 0 {
		t.Fatalf("after the primitive's Close: provider closed=%v, %d live sandboxes; want closed, 0", closed, live)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("sandbox directory %s still there after Close (%v)", d, err)
		}
	}
	if _, err := p.Create(ctx, sandbox.CreateOptions{}); !errors.Is(err, sandbox.ErrClosed) {
		t.Errorf("Create on the closed provider: %v, want sandbox.ErrClosed", err)
	}
	if _, err := exec.Execute(ctx, sandbox.CodeInput{Code: "1"}); !errors.Is(err, sandbox.ErrClosed) {
		t.Errorf("Execute after Close: %v, want sandbox.ErrClosed", err)
	}
}

func TestNewCodeExecutionPrimitivePanicsOnNilOptions(t *testing.T) {
	for name, f := range map[string]func(){
		"nil option":      func() { NewCodeExecutionPrimitive(nil) },
		"nil code option": func() { WithCodeOptions(sandbox.SessionMode(), nil) },
		"zero telemetry":  func() { NewCodeExecutionPrimitive(observability.Option{}) },
	} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.HasPrefix(r.(string), "local: ") {
					t.Errorf("%s: recovered %v, want a panic starting with \"local: \"", name, r)
				}
			}()
			f()
		}()
	}
}
