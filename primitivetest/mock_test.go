package primitivetest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	p "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/primitivetest"
)

func TestMockScriptAndRecording(t *testing.T) {
	boom := errors.New("boom")
	m := primitivetest.NewMock[string](
		primitivetest.Reply[int]{Out: 1},
		primitivetest.Reply[int]{Err: boom},
		primitivetest.Reply[int]{Out: 3},
	)
	ctx := p.WithWorkflow(context.Background(), p.NewWorkflowContext(p.CorrelationID("c1")))
	var outs []int
	var errs []error
	for _, in := range []string{"a", "b", "c", "d"} {
		o, err := m.Execute(ctx, in)
		outs, errs = append(outs, o), append(errs, err)
	}
	if fmt.Sprint(outs) != "[1 0 3 3]" || errs[1] != boom || errs[0] != nil || errs[3] != nil {
		t.Fatalf("outs %v errs %v", outs, errs)
	}
	if fmt.Sprint(m.Inputs()) != "[a b c d]" || m.Calls()[0].CorrelationID != "c1" {
		t.Fatalf("calls %v", m.Calls())
	}
	if !m.AssertCalled(t, 4) || !m.AssertCalledWith(t, "c", func(a, b string) bool { return a == b }) {
		t.Fatal("assertions failed")
	}
	m.Reset()
	if m.CallCount() != 0 {
		t.Fatal("Reset kept calls")
	}
	if o, _ := m.Execute(ctx, "again"); o != 1 {
		t.Fatalf("Reset did not rewind the script: %d", o)
	}
}

type recordingTB struct{ failures []string }

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func TestMockAssertionsReportFailures(t *testing.T) {
	m := primitivetest.Returning[int]("x")
	_, _ = m.Execute(context.Background(), 7)
	rec := &recordingTB{}
	if m.AssertCalled(rec, 2) || m.AssertCalledWith(rec, 8, func(a, b int) bool { return a == b }) {
		t.Fatal("assertions passed on a mismatch")
	}
	if len(rec.failures) != 2 || rec.failures[0] != "primitivetest: mock called 1 times, want 2" {
		t.Fatalf("failures %q", rec.failures)
	}
}

func TestMockConcurrentUseAndFunc(t *testing.T) {
	m := primitivetest.FromFunc(func(_ context.Context, n int) (int, error) { return n * 2, nil }).
		Then(primitivetest.Reply[int]{Out: -1})
	var wg sync.WaitGroup
	results := make([]int, 100)
	for i := range 100 {
		wg.Add(1)
		go func() { defer wg.Done(); results[i], _ = m.Execute(context.Background(), i) }()
	}
	wg.Wait()
	negatives := 0
	for i, r := range results {
		switch {
		case r == -1:
			negatives++
		case r != 2*i:
			t.Fatalf("result %d = %d", i, r)
		}
	}
	if negatives != 1 || m.CallCount() != 100 {
		t.Fatalf("scripted reply used %d times, calls %d", negatives, m.CallCount())
	}
	if _, err := primitivetest.Failing[int, int](errors.New("x")).Execute(context.Background(), 1); err == nil {
		t.Fatal("Failing did not fail")
	}
}

// A Mock stands in for a slow or costly step (an LLM call) while testing the
// rest of a pipeline.
func ExampleMock() {
	llm := primitivetest.NewMock[string](
		primitivetest.Reply[string]{Out: "print('hi')"},
	)
	pipeline := p.Then(llm, p.Lift(func(code string) int { return len(code) }))
	n, _ := pipeline.Execute(context.Background(), "say hi")
	fmt.Println(n, llm.CallCount(), llm.Inputs())
	// Output: 11 1 [say hi]
}

// Sequence answers in order, then repeats the last output; only the input
// type is spelled out.
func ExampleSequence() {
	gen := primitivetest.Sequence[string]("print(x)", "x = 1\nprint(x)")
	for range 3 {
		code, _ := gen.Execute(context.Background(), "write code")
		fmt.Printf("%q\n", code)
	}
	// Output:
	// "print(x)"
	// "x = 1\nprint(x)"
	// "x = 1\nprint(x)"
}

func TestSequenceEmptyAndRecording(t *testing.T) {
	m := primitivetest.Sequence[int, string]()
	out, err := m.Execute(context.Background(), 7)
	if out != "" || err != nil || m.CallCount() != 1 || m.Inputs()[0] != 7 {
		t.Fatalf("%q %v %d", out, err, m.CallCount())
	}
	m2 := primitivetest.Sequence[int](1, 2)
	m2.Then(primitivetest.Reply[int]{Err: errors.New("late")})
	var got []string
	for range 4 {
		o, err := m2.Execute(context.Background(), 0)
		got = append(got, fmt.Sprint(o, err))
	}
	if fmt.Sprint(got) != "[1 <nil> 2 <nil> 0 late 0 late]" {
		t.Fatalf("%v", got)
	}
}
