//go:build !linux

package local

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ttadev/primitives/sandbox"
)

// Off Linux, New and the one-call primitive refuse with the error that
// says what to do; invalid options still panic.
func TestNewOffLinuxSaysItNeedsLinux(t *testing.T) {
	if _, err := New(); !errors.Is(err, ErrUnsupportedPlatform) || !strings.Contains(err.Error(), "E2B_API_KEY") {
		t.Fatalf("New: %v, want ErrUnsupportedPlatform", err)
	}
	if _, err := NewCodeExecutionPrimitive(WithCodeOptions(sandbox.SessionMode())); !errors.Is(err, ErrUnsupportedPlatform) {
		t.Fatalf("NewCodeExecutionPrimitive: %v, want ErrUnsupportedPlatform", err)
	}
	if _, err := (&Provider{}).Create(context.Background(), sandbox.CreateOptions{}); !errors.Is(err, ErrUnsupportedPlatform) {
		t.Fatalf("Create: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("New(nil) did not panic")
		}
	}()
	New(nil)
}
