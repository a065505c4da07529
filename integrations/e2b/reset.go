package e2b

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ttadev/primitives/sandbox"
)

// RunMarkerEnv is the environment variable a [Provider]'s sandbox sets,
// to a random value of its own, for every execution. Processes started by
// the code inherit it, which lets Reset find them even when they left
// the kernel's process tree.
const RunMarkerEnv = "PRIMITIVES_E2B_RUN"

// baseline is what a provider's sandbox looked like before any user code
// ran: the working directory of its context and the entries in it.
type baseline struct {
	Cwd     string   `json:"cwd"`
	Entries []string `json:"entries"`
}

// baselineCode prints the baseline without leaving a name in the
// namespace (the context is restarted afterwards anyway).
const baselineCode = `print(__import__('json').dumps({"cwd": __import__('os').getcwd(), "entries": sorted(__import__('os').listdir('.'))}))`

// cleanupCode kills the processes started by earlier executions (the
// kernel's descendants; processes forked from this kernel or an earlier
// incarnation of it, which share its command line, connection file
// included; and any process whose environment carries the run marker)
// and removes what they added to the working directory (the
// entries absent from the baseline). It prints how many of each it
// removed. %s is a Python string literal holding the JSON arguments.
const cleanupCode = `def __primitives_cleanup(args):
    import json, os, signal, shutil, time
    a = json.loads(args)
    me = os.getpid()
    parents = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%%s/stat' %% d) as f:
                parents[int(d)] = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            pass
    victims, grew = set(), True
    while grew:
        grew = False
        for p, pp in parents.items():
            if p not in victims and p != me and (pp == me or pp in victims):
                victims.add(p)
                grew = True
    needle = (a['var'] + '=' + a['marker']).encode()
    with open('/proc/self/cmdline', 'rb') as f:
        mine = f.read()
    for p in parents:
        if p == me or p in victims:
            continue
        try:
            with open('/proc/%%d/cmdline' %% p, 'rb') as f:
                if f.read() == mine:
                    victims.add(p)
                    continue
            with open('/proc/%%d/environ' %% p, 'rb') as f:
                if needle in f.read().split(b'\0'):
                    victims.add(p)
        except OSError:
            pass
    for p in victims:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    for p in victims:
        if parents.get(p) == me:
            try:
                os.waitpid(p, 0)
            except OSError:
                pass
    # Return once every victim has exited (a zombie left to its new
    # parent counts), so the next run cannot meet one still running.
    deadline = time.monotonic() + 5
    for p in victims:
        while time.monotonic() < deadline:
            try:
                with open('/proc/%%d/stat' %% p) as f:
                    if f.read().rsplit(')', 1)[1].split()[0] in 'ZXx':
                        break
            except (OSError, IndexError):
                break
            time.sleep(0.005)
    keep, removed = set(a['keep']), 0
    for name in os.listdir(a['cwd']):
        if name in keep:
            continue
        path = os.path.join(a['cwd'], name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
            removed += 1
        except OSError:
            pass
    print(len(victims), removed)
__primitives_cleanup(%s)`

// newRunMarker returns a random marker value.
func newRunMarker() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// recordBaseline reads the context's working directory and its entries,
// then restarts the context so that user code starts on a fresh kernel.
func (s *providerSandbox) recordBaseline(ctx context.Context) error {
	ex, err := s.sb.Execute(ctx, baselineCode, ExecuteOptions{ContextID: s.contextID,
		RunOptions: sandbox.RunOptions{Timeout: 30 * time.Second}})
	if err != nil {
		return err
	}
	if ex.Error != nil {
		return mark(fmt.Errorf("e2b: reading the working directory of E2B sandbox %s: %s: %s", s.sb.ID, ex.Error.Name, ex.Error.Value))
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(ex.StdoutText())), &s.base); err != nil || s.base.Cwd == "" {
		return &ProtocolError{Op: "record the working directory", Message: "unexpected output: " + snippet([]byte(ex.StdoutText()))}
	}
	return s.sb.RestartContext(ctx, s.contextID)
}

// cleanup runs cleanupCode in the context. Called with s.mu held.
func (s *providerSandbox) cleanup(ctx context.Context) error {
	args, _ := json.Marshal(map[string]any{"cwd": s.base.Cwd, "keep": s.base.Entries,
		"var": RunMarkerEnv, "marker": s.marker})
	lit, _ := json.Marshal(string(args))
	ex, err := s.sb.Execute(ctx, fmt.Sprintf(cleanupCode, lit), ExecuteOptions{ContextID: s.contextID,
		RunOptions: sandbox.RunOptions{Timeout: 30 * time.Second}})
	if err != nil {
		return err
	}
	if ex.Error != nil {
		return mark(fmt.Errorf("e2b: cleaning up E2B sandbox %s: %s: %s", s.sb.ID, ex.Error.Name, ex.Error.Value))
	}
	return nil
}
