//go:build linux

package local_test

import (
	"context"
	"fmt"
	"github.com/ttadev/primitives/observability"
	"log/slog"
	"time"

	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

func Example() {
	ctx := context.Background()
	p, err := local.New(observability.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	fmt.Println("network isolated:", p.Isolation().NetworkIsolated)

	sb, err := p.Create(ctx, sandbox.CreateOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sb.Close(ctx)

	ex, err := sb.Run(ctx, "import os\nx = 21\nprint('in', os.getcwd())\nx * 2", sandbox.RunOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(ex.StdoutText())
	fmt.Println("result:", ex.Text())

	// State persists; a Python exception is a result, not a Go error.
	ex, err = sb.Run(ctx, "x / 0", sandbox.RunOptions{})
	fmt.Println(err, ex.Error, ex.ExecutionCount)
	// Output:
	// network isolated: true
	// in /work
	// result: 42
	// <nil> ZeroDivisionError: division by zero 2
}

// One call builds the provider, the pool and the primitive; one Close
// releases them all.
func ExampleNewCodeExecutionPrimitive() {
	ctx := context.Background()
	exec, err := local.NewCodeExecutionPrimitive(
		observability.WithLogger(slog.New(slog.DiscardHandler)),
		local.WithMemoryLimit(512<<20),
		local.WithCodeOptions(sandbox.WithTimeout(10*time.Second)),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer exec.Close(ctx) // closes the pool, the provider and its sandboxes

	out, err := exec.Execute(ctx, sandbox.CodeInput{Code: "print(6 * 7)"})
	fmt.Print(out.Logs, out.Success, " ", err, "\n")
	// Output:
	// 42
	// true <nil>
}
