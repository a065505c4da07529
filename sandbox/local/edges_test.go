package local

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// TestPartialOutputReachesTheCallerWithTheError: what the code printed
// before a timeout, a crash or a cancellation is in the primitive's
// output, next to the typed error.
func TestPartialOutputReachesTheCallerWithTheError(t *testing.T) {
	for _, mode := range []struct {
		name string
		opt  sandbox.CodeOption
	}{{"stateless", sandbox.Stateless()}, {"session", sandbox.SessionMode()}} {
		t.Run(mode.name, func(t *testing.T) {
			ce := sandbox.NewCodeExecution(sharedProvider(t), sandbox.MaxSandboxes(1), mode.opt)
			t.Cleanup(func() { ce.Close(context.Background()) })

			out, err := ce.Execute(context.Background(), sandbox.CodeInput{
				Code: "print('step 1', flush=True)\nimport sys; print('warn', file=sys.stderr, flush=True)\nwhile True: pass", Timeout: 300 * time.Millisecond})
			if !errors.Is(err, recovery.ErrTimeout) || out.Success {
				t.Fatalf("timeout: %v %+v", err, out)
			}
			if !strings.HasPrefix(out.Stdout, "step 1\n") || !strings.HasPrefix(out.Stderr, "warn\n") || out.ErrorName != "KeyboardInterrupt" {
				t.Fatalf("output before the timeout lost: %+v", out)
			}

			out, err = ce.Execute(context.Background(), sandbox.CodeInput{Code: "print('step 2', flush=True)\nimport os\nos._exit(9)"})
			var crash *sandbox.CrashError
			if !errors.As(err, &crash) || out.Stdout != "step 2\n" || out.Success {
				t.Fatalf("crash: %v %+v", err, out)
			}

			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			out, err = ce.Execute(ctx, sandbox.CodeInput{Code: "print('step 3', flush=True)\nimport time\ntime.sleep(30)"})
			if !errors.Is(err, context.Canceled) || !strings.HasPrefix(out.Stdout, "step 3\n") || out.Success {
				t.Fatalf("cancellation: %v %+v", err, out)
			}
		})
	}
}
