package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/recovery"
)

func ExampleRetry() {
	calls := 0
	flakyAPI := primitives.From(func(_ context.Context, q string) (string, error) {
		calls++
		if calls < 3 {
			return "", recovery.Transient(errors.New("503 service unavailable"), 0)
		}
		return "answer to " + q, nil
	})
	resilient := recovery.Retry(flakyAPI,
		recovery.MaxRetries(3), recovery.Exponential(), recovery.InitialDelay(time.Millisecond),
		recovery.OnRetry(func(e recovery.RetryEvent) { fmt.Printf("attempt %d failed: %v\n", e.Attempt, e.Err) }))

	out, err := resilient.Execute(context.Background(), "q1")
	fmt.Println(out, err)
	// Output:
	// attempt 1 failed: 503 service unavailable
	// attempt 2 failed: 503 service unavailable
	// answer to q1 <nil>
}

func ExampleRetry_exhausted() {
	down := primitives.From(func(context.Context, int) (int, error) {
		return 0, errors.New("connection refused")
	})
	_, err := recovery.Retry(down, recovery.MaxRetries(2), recovery.InitialDelay(0)).Execute(context.Background(), 1)

	var re *recovery.RetryError
	fmt.Println(errors.Is(err, recovery.ErrRetriesExhausted), errors.As(err, &re), re.Attempts)
	fmt.Println(err)

	// Errors that say they are permanent are returned at once.
	bad := primitives.From(func(context.Context, int) (int, error) {
		return 0, &recovery.InvalidInputError{Field: "code", Reason: "empty"}
	})
	_, err = recovery.Retry(bad).Execute(context.Background(), 1)
	fmt.Println(err)
	// Output:
	// true true 3
	// retry: gave up after 3 attempts (max retries reached): connection refused
	// invalid input: code: empty
}

func ExampleFallback() {
	primary := primitives.From(func(context.Context, string) (string, error) {
		return "", errors.New("primary model overloaded")
	})
	secondary := primitives.From(func(context.Context, string) (string, error) {
		return "", errors.New("secondary model down")
	})
	local := primitives.From(func(_ context.Context, q string) (string, error) {
		return "local answer to " + q, nil
	})
	out, err := recovery.Fallback(primary, secondary, local).Execute(context.Background(), "q")
	fmt.Println(out, err)

	_, err = recovery.Fallback(primary, secondary).Execute(context.Background(), "q")
	fmt.Println(err)
	// Output:
	// local answer to q <nil>
	// fallback: all 2 failed: primary: primary model overloaded; alternative 1: secondary model down
}

func ExampleTimeout() {
	slow := primitives.From(func(ctx context.Context, _ string) (string, error) {
		select {
		case <-time.After(time.Hour):
			return "late", nil
		case <-ctx.Done(): // the deadline stops the work
			return "", ctx.Err()
		}
	})
	_, err := recovery.Timeout(slow, 10*time.Millisecond).Execute(context.Background(), "x")
	fmt.Println(err, errors.Is(err, recovery.ErrTimeout), errors.Is(err, context.DeadlineExceeded))

	cached := primitives.From(func(context.Context, string) (string, error) { return "cached", nil })
	out, err := recovery.Timeout(slow, 10*time.Millisecond).WithFallback(cached).Execute(context.Background(), "x")
	fmt.Println(out, err)
	// Output:
	// timeout timed out after 10ms true true
	// cached <nil>
}

func ExampleCircuitBreaker() {
	down := primitives.From(func(context.Context, int) (int, error) { return 0, errors.New("503") })
	cb := recovery.CircuitBreaker(down,
		recovery.FailureThreshold(2), recovery.RecoveryTimeout(time.Minute),
		recovery.OnStateChange(func(c recovery.StateChange) { fmt.Println("circuit:", c.From, "->", c.To) }))

	for range 3 {
		_, err := cb.Execute(context.Background(), 1)
		if errors.Is(err, recovery.ErrCircuitOpen) {
			fmt.Println("failed fast; retry after about", recovery.RetryAfter(err).Round(time.Second))
			continue
		}
		fmt.Println(err)
	}
	fmt.Println(cb.State())
	// Output:
	// 503
	// circuit: closed -> open
	// 503
	// failed fast; retry after about 1m0s
	// open
}

type order struct {
	ID      string
	Seat    string
	Charged bool
}

func ExampleSaga() {
	reserve := primitives.From(func(_ context.Context, o order) (order, error) {
		o.Seat = "12A"
		fmt.Println("reserved", o.Seat)
		return o, nil
	})
	release := primitives.From(func(ctx context.Context, o order) (order, error) {
		done, _ := recovery.CompensatedOutput[order](ctx)
		fmt.Printf("released %s (input seat %q)\n", done.Seat, o.Seat)
		return o, nil
	})
	charge := primitives.From(func(context.Context, order) (order, error) {
		return order{}, errors.New("card declined")
	})
	book := recovery.Saga(
		recovery.Step(reserve, release),
		recovery.Step(charge, nil),
	)
	_, err := book.Execute(context.Background(), order{ID: "o-1"})
	var se *recovery.SagaError
	errors.As(err, &se)
	fmt.Println(err, se.Compensated)
	// Output:
	// reserved 12A
	// released 12A (input seat "")
	// saga: step 1 failed: card declined [0]
}

// Composition order matters: Retry(Timeout(p)) gives each attempt its own
// deadline, so a hung attempt is cut short and retried; Timeout(Retry(p))
// bounds the whole sequence of attempts and waits.
func Example_composition() {
	attempts := 0
	hangsOnce := primitives.From(func(ctx context.Context, n int) (int, error) {
		attempts++
		if attempts == 1 {
			<-ctx.Done() // the first attempt hangs until its deadline
			return 0, ctx.Err()
		}
		return n * 2, nil
	})
	backup := primitives.From(func(context.Context, int) (int, error) { return -1, nil })

	perAttempt := recovery.Retry(
		recovery.Timeout(recovery.Fallback(hangsOnce, backup), 20*time.Millisecond),
		recovery.InitialDelay(time.Millisecond))
	out, err := perAttempt.Execute(context.Background(), 21)
	fmt.Println(out, err, attempts)
	// Output:
	// 42 <nil> 2
}
