//go:build linux

package local

import (
	"context"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ttadev/primitives/sandbox"
)

// Many sandboxes created, used (including by hostile endings) and closed
// concurrently leave no goroutine, process, directory or mount behind.
func TestNoLeaksAfterManySandboxes(t *testing.T) {
	root := t.TempDir()
	os.Chmod(root, 0o711)
	os.Chmod(root+"/..", 0o711)
	p := newProvider(t, WithWorkDirRoot(root))
	before := runtime.NumGoroutine()
	countDirs := func() int {
		entries, _ := os.ReadDir(root)
		n := 0
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "ttadev-sandbox-") {
				n++
			}
		}
		return n
	}
	dirsBefore := countDirs()
	endings := []string{"1", "import os\nos._exit(1)", "import subprocess\nsubprocess.Popen(['sleep', '100'])", "while True: pass"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []int
	var boxes []*Sandbox
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := p.create(context.Background(), sandbox.CreateOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			s.Run(context.Background(), "print('hi')", sandbox.RunOptions{})
			pids := processTree(s.child.cmd.Process.Pid)
			s.Run(context.Background(), endings[i%len(endings)], sandbox.RunOptions{Timeout: 300 * time.Millisecond})
			s.Close(context.Background())
			mu.Lock()
			all = append(all, pids...)
			boxes = append(boxes, s)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, s := range boxes {
		assertCleanedUp(t, s, nil)
	}
	assertGone(t, all)
	if n := countDirs(); n != dirsBefore {
		t.Fatalf("%d sandbox dirs before, %d after", dirsBefore, n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
