package refine_test

import (
	"context"
	"strings"
	"testing"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/refine"
	"github.com/ttadev/primitives/sandbox"
)

func TestConstructionPanics(t *testing.T) {
	gen := codes("print(1)")
	exec := primitives.Func[sandbox.CodeInput, sandbox.CodeOutput](func(context.Context, sandbox.CodeInput) (sandbox.CodeOutput, error) {
		return sandbox.CodeOutput{Success: true}, nil
	})
	var nilGen primitives.Func[refine.Request, refine.Generation]
	for _, tc := range []struct {
		want string
		f    func()
	}{
		{"refine: New: generator is nil", func() { refine.New(nil, exec) }},
		{"refine: New: generator is nil", func() { refine.New(nilGen, exec) }},
		{"refine: New: executor is nil", func() { refine.New(gen, nil) }},
		{"refine: New: option 1 is nil", func() { refine.New(gen, exec, refine.MaxAttempts(2), nil) }},
		{"refine: MaxAttempts(0): must be at least 1", func() { refine.MaxAttempts(0) }},
		{"refine: TokenBudget(-1): must not be negative", func() { refine.TokenBudget(-1) }},
		{"refine: FeedbackLimit(0): must be at least 1", func() { refine.FeedbackLimit(0) }},
		{"refine: Validate: validator is nil", func() { refine.Validate(nil) }},
		{"refine: FromText: generator is nil", func() { refine.FromText(nil) }},
	} {
		func() {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tc.want) {
					t.Errorf("panic %v; want %q", r, tc.want)
				}
			}()
			tc.f()
		}()
	}
	if refine.New(gen, exec).MaxAttempts() != refine.DefaultMaxAttempts {
		t.Fatal("default attempts")
	}
}
