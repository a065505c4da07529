//go:build linux

package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/sandbox"
)

// eachMode runs f on a session sandbox and on a stateless one.
func eachMode(t *testing.T, f func(t *testing.T, s *Sandbox)) {
	for _, stateless := range []bool{false, true} {
		name := "session"
		if stateless {
			name = "stateless"
		}
		t.Run(name, func(t *testing.T) {
			f(t, newSandbox(t, sharedProvider(t), sandbox.CreateOptions{Stateless: stateless}))
		})
	}
}

// adder is a host function: "add" sums its arguments a and b, "fail"
// returns an error, anything else is unknown.
func adder(calls *atomic.Int64) sandbox.HostCallFunc {
	return func(ctx context.Context, name string, args []byte) ([]byte, error) {
		calls.Add(1)
		switch name {
		case "add":
			var in struct{ A, B int }
			if err := json.Unmarshal(args, &in); err != nil {
				return nil, fmt.Errorf("bad arguments: %v", err)
			}
			return json.Marshal(map[string]int{"sum": in.A + in.B})
		case "echo":
			return args, nil
		case "fail":
			return nil, errors.New("the host says no")
		}
		return nil, fmt.Errorf("unknown function %q", name)
	}
}

func runWith(t *testing.T, s *Sandbox, code string, fn sandbox.HostCallFunc) *sandbox.Execution {
	t.Helper()
	ex, err := s.Run(context.Background(), code, sandbox.RunOptions{Timeout: 20 * time.Second, OnHostCall: fn})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return ex
}

func TestHostCallRoundTrip(t *testing.T) {
	eachMode(t, func(t *testing.T, s *Sandbox) {
		var n atomic.Int64
		ex := runWith(t, s, `
import sandbox_host
total = 0
for i in range(50):
    total += sandbox_host.call("add", {"a": i, "b": 1})["sum"]
print("unicode", sandbox_host.call("echo", text="héllo ✓")["text"])
total`, adder(&n))
		if ex.Error != nil {
			t.Fatalf("code raised: %s\n%s", ex.Error, ex.Error.Traceback)
		}
		if got := ex.Results[0].Text; got != "1275" {
			t.Fatalf("result %q, want 1275", got)
		}
		if out := stdoutOf(ex); out != "unicode héllo ✓\n" {
			t.Fatalf("stdout %q", out)
		}
		if n.Load() != 51 {
			t.Fatalf("host saw %d calls, want 51", n.Load())
		}
		// The next run, without OnHostCall, gets an error raised in the
		// code, and the sandbox stays usable.
		ex = run(t, s, "import sandbox_host\nsandbox_host.call('add', a=1, b=2)")
		if ex.Error == nil || ex.Error.Name != "HostCallError" || !strings.Contains(ex.Error.Value, "OnHostCall is not set") {
			t.Fatalf("call without a host function: %+v", ex.Error)
		}
		mustSucceed(t, s, "1+1")
	})
}

func stdoutOf(ex *sandbox.Execution) string {
	var b strings.Builder
	for _, m := range ex.Stdout {
		b.WriteString(m.Text)
	}
	return b.String()
}

func TestHostCallErrorsRaiseInTheCode(t *testing.T) {
	eachMode(t, func(t *testing.T, s *Sandbox) {
		var n atomic.Int64
		ex := runWith(t, s, `
import sandbox_host
caught = []
for name, args in (("fail", {}), ("nope", {}), ("add", {"a": "x"})):
    try:
        sandbox_host.call(name, args)
    except sandbox_host.HostCallError as e:
        caught.append(str(e))
try:
    sandbox_host.call("add", {"a": float("nan")})
except ValueError:
    caught.append("nan refused in the sandbox")
try:
    sandbox_host.call("add", {"a": object()})
except TypeError:
    caught.append("object refused in the sandbox")
caught`, adder(&n))
		if ex.Error != nil {
			t.Fatalf("code raised: %s", ex.Error)
		}
		got := ex.Results[0].Text
		for _, want := range []string{"the host says no", `unknown function "nope"`, "bad arguments", "nan refused", "object refused"} {
			if !strings.Contains(got, want) {
				t.Errorf("caught %s, want it to contain %q", got, want)
			}
		}
		if n.Load() != 3 {
			t.Fatalf("host saw %d calls, want 3 (the sandbox refuses NaN and objects itself)", n.Load())
		}
	})
}

func TestHostCallHugeResultIsRefused(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	big := func(ctx context.Context, name string, args []byte) ([]byte, error) {
		if name == "big" {
			return []byte(`"` + strings.Repeat("x", maxHostCallResult) + `"`), nil
		}
		return []byte(`"` + strings.Repeat("y", 1<<20) + `"`), nil
	}
	ex := runWith(t, s, `
import sandbox_host
try:
    sandbox_host.call("big")
    r = "no error"
except sandbox_host.HostCallError as e:
    r = str(e)
(r, len(sandbox_host.call("mib")))`, big)
	if ex.Error != nil {
		t.Fatalf("code raised: %s", ex.Error)
	}
	if got := ex.Results[0].Text; !strings.Contains(got, "over the limit") || !strings.Contains(got, "1048576") {
		t.Fatalf("result %q: want the refusal of the 8 MiB result and a 1 MiB result delivered", got)
	}
}

func TestHostCallContextEndsWithTheRun(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	ended := make(chan error, 1)
	slow := func(ctx context.Context, name string, args []byte) ([]byte, error) {
		<-ctx.Done()
		ended <- ctx.Err()
		return nil, ctx.Err()
	}
	start := time.Now()
	_, err := s.Run(context.Background(), "import sandbox_host\nsandbox_host.call('slow')", sandbox.RunOptions{Timeout: 300 * time.Millisecond, OnHostCall: slow})
	if err == nil {
		t.Fatal("a run stuck in a host call past its timeout returned no error")
	}
	select {
	case e := <-ended:
		if !errors.Is(e, context.Canceled) {
			t.Fatalf("host function's context ended with %v", e)
		}
	default:
		t.Fatal("Run returned while the host function was still running")
	}
	if time.Since(start) > 15*time.Second {
		t.Fatalf("Run took %v", time.Since(start))
	}
}

func TestHostCallPanicReachesTheCaller(t *testing.T) {
	s := newSandbox(t, sharedProvider(t), sandbox.CreateOptions{})
	boom := func(ctx context.Context, name string, args []byte) ([]byte, error) { panic("boom") }
	ex, err := s.Run(context.Background(), `
import sandbox_host
try:
    sandbox_host.call("x")
except sandbox_host.HostCallError as e:
    print("raised:", e)`, sandbox.RunOptions{Timeout: 20 * time.Second, OnHostCall: boom})
	var pe *primitives.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" {
		t.Fatalf("err = %v, want *primitives.PanicError(boom)", err)
	}
	if ex == nil || !strings.Contains(stdoutOf(ex), "raised: the host failed") {
		t.Fatalf("the code did not get an error in place of the result: %+v", ex)
	}
	mustSucceed(t, s, "1+1") // the sandbox is unharmed
}

// TestHostileHostCalls: code that writes call events of its own instead
// of using sandbox_host — forged numbers, a flood with no reader, garbage
// after the calls — cannot hang the host, reach the next run of the
// session, or pass a call the host does not answer.
func TestHostileHostCalls(t *testing.T) {
	eachMode(t, func(t *testing.T, s *Sandbox) {
		var n atomic.Int64
		// 500 call events on the event pipe, nobody reading the replies,
		// then the run ends.
		ex := runWith(t, s, `
import os
for i in range(500):
    os.write(4, b'{"t":"call","id":%d,"name":"echo","args":{"pad":"%s"}}\n' % (i, b"z" * 2000))
"flooded"`, adder(&n))
		if ex.Error != nil || ex.Results[0].Text != "'flooded'" {
			t.Fatalf("flood run: %+v %+v", ex.Error, ex.Results)
		}
		// The host answers what fits in the reply pipe plus the queue's
		// bound, and drops the rest of the flood.
		if got := n.Load(); got >= 500 {
			t.Fatalf("the host answered all %d calls of a flood nobody reads", got)
		}
		// The next run is not confused by the replies the flood left
		// behind, and real calls still work.
		ex = runWith(t, s, "import sandbox_host\nsandbox_host.call('add', a=20, b=22)['sum']", adder(&n))
		if ex.Error != nil || ex.Results[0].Text != "42" {
			t.Fatalf("run after the flood: %+v %+v", ex.Error, ex.Results)
		}
	})
}
