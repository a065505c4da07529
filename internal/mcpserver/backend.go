package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/ttadev/primitives/integrations/codeexec"
	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

// Backend choices accepted by [OpenBackend].
const (
	BackendAuto  = "auto"
	BackendLocal = codeexec.BackendLocal
	BackendE2B   = codeexec.BackendE2B
)

// Backend is the sandbox provider the server runs cells on, with what the
// server tells clients and its log about it.
type Backend struct {
	// Provider creates the sandboxes.
	Provider sandbox.Provider
	// Name is "local" or "e2b".
	Name string
	// Reason says why this backend was chosen.
	Reason string
	// Isolation describes the isolation layers of its sandboxes.
	Isolation string

	local *local.Provider
}

// OpenBackend returns the provider to run cells on. kind "auto" (or "")
// chooses as codeexec.FromEnv does: E2B when E2B_API_KEY is set, else the
// local sandbox; "local" and "e2b" force one ("e2b" still needs
// E2B_API_KEY). The errors are those of local.New (no isolation, no Python)
// and of the E2B client (a malformed key); an unknown kind is an error too.
// Close the backend when done. It costs one isolation probe for the local
// sandbox and no network call for E2B.
func OpenBackend(kind string, opts ...observability.Option) (*Backend, error) {
	switch strings.ToLower(strings.TrimSpace(kind)) {
	case "", BackendAuto:
		fe := make([]codeexec.Option, len(opts))
		for i, o := range opts {
			fe[i] = o
		}
		ce, err := codeexec.FromEnv(fe...)
		if err != nil {
			return nil, err
		}
		p := ce.Pool().Provider()
		// The primitive created nothing; only its provider is kept.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = ce.Close(ctx)
		cancel()
		reason := e2b.EnvAPIKey + " is not set"
		if p.Name() == BackendE2B {
			reason = e2b.EnvAPIKey + " is set"
		}
		return describe(p, reason), nil
	case BackendLocal:
		lo := make([]local.Option, len(opts))
		for i, o := range opts {
			lo[i] = o
		}
		p, err := local.New(lo...)
		if err != nil {
			return nil, err
		}
		return describe(p, "forced by --backend local"), nil
	case BackendE2B:
		if strings.TrimSpace(os.Getenv(e2b.EnvAPIKey)) == "" {
			return nil, errors.New("mcpserver: the e2b backend needs " + e2b.EnvAPIKey + " in the environment")
		}
		return OpenBackend(BackendAuto, opts...)
	}
	return nil, fmt.Errorf("mcpserver: unknown backend %q (want auto, local or e2b)", kind)
}

func describe(p sandbox.Provider, reason string) *Backend {
	b := &Backend{Provider: p, Name: p.Name(), Reason: reason}
	if lp, ok := p.(*local.Provider); ok {
		b.local = lp
		b.Isolation = describeLocal(lp.Isolation())
	} else {
		b.Isolation = "each sandbox is its own Firecracker microVM with its own kernel, in E2B's cloud"
	}
	return b
}

func describeLocal(iso local.Isolation) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "local sandbox on this machine, level %s: %s", iso.Level, strings.Join(iso.Active, ", "))
	if len(iso.Missing) > 0 {
		missing := make([]string, 0, len(iso.Missing))
		for k := range iso.Missing {
			missing = append(missing, k)
		}
		sort.Strings(missing)
		fmt.Fprintf(&sb, " (missing: %s)", strings.Join(missing, ", "))
	}
	if !iso.NetworkIsolated {
		sb.WriteString("; WARNING: network not isolated")
	} else {
		sb.WriteString("; no network")
	}
	if !iso.FilesystemIsolated {
		sb.WriteString("; WARNING: file system not isolated")
	}
	return sb.String()
}

// Close releases the backend: the local provider closes any sandbox still
// open. It is idempotent.
func (b *Backend) Close() error {
	if b.local != nil {
		return b.local.Close()
	}
	return nil
}
