package e2b_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/recovery"
	"github.com/ttadev/primitives/sandbox"
)

// E2B cannot carry calls from the code to the host: a run asking for them
// is refused before anything is sent, with an error that says so.
func TestHostCallsAreRefused(t *testing.T) {
	srv := newFake(t)
	sb := createSandbox(t, newClient(t, srv))
	fn := func(context.Context, string, []byte) ([]byte, error) { return []byte("1"), nil }
	before := srv.Stats().Requests
	_, err := sb.Execute(context.Background(), "1+1", e2b.ExecuteOptions{RunOptions: sandbox.RunOptions{OnHostCall: fn}})
	if !errors.Is(err, sandbox.ErrHostCallsUnsupported) || !errors.Is(err, sandbox.ErrUnsupported) {
		t.Fatalf("err = %v, want ErrHostCallsUnsupported and ErrUnsupported", err)
	}
	if recovery.IsRetryable(err) {
		t.Fatal("an unsupported feature is classified retryable")
	}
	if srv.Stats().Requests != before {
		t.Fatal("the refused run reached the server")
	}
}
