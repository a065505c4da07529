package recovery_test

import (
	"testing"
	"time"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/recovery"
)

func TestConstructionPanics(t *testing.T) {
	var nilP primitives.Primitive[int, int]
	var nilFunc primitives.Func[int, int]
	ok := constant(1)
	cases := []struct {
		want string
		f    func()
	}{
		{"recovery: Retry: primitive is nil", func() { recovery.Retry(nilP) }},
		{"recovery: Retry: primitive is nil", func() { recovery.Retry[int, int](nilFunc) }},
		{"recovery: MaxRetries: retries must be >= 0, got -1", func() { recovery.MaxRetries(-1) }},
		{"recovery: InitialDelay: delay must be >= 0", func() { recovery.InitialDelay(-time.Second) }},
		{"recovery: MaxDelay: delay must be > 0", func() { recovery.MaxDelay(0) }},
		{"recovery: MaxElapsed: duration must be > 0", func() { recovery.MaxElapsed(-1) }},
		{"recovery: Multiplier: factor must be >= 1", func() { recovery.Multiplier(0.5) }},
		{"recovery: Jitter: factor must be in [0, 1]", func() { recovery.Jitter(1.5) }},
		{"recovery: RetryIf: predicate is nil", func() { recovery.RetryIf(nil) }},
		{"recovery: OnRetry: hook is nil", func() { recovery.OnRetry(nil) }},
		{"recovery: WithBackOff: function is nil", func() { recovery.WithBackOff(nil) }},
		{"recovery: Retry: option 1 is nil", func() { recovery.Retry(ok, recovery.MaxRetries(1), nil) }},
		{"recovery: Retry: option 0 is the zero observability.Option", func() { recovery.Retry(ok, observability.Option{}) }},
		{"recovery: Retry: initial delay 2m0s exceeds maximum delay 1m0s", func() {
			recovery.Retry(ok, recovery.InitialDelay(2*time.Minute), recovery.MaxDelay(time.Minute))
		}},

		{"recovery: Fallback: primary primitive is nil", func() { recovery.Fallback(nilP, ok) }},
		{"recovery: Fallback: alternative 2 is nil", func() { recovery.Fallback(ok, ok, nilP) }},
		{"recovery: Fallback: no alternative given", func() { recovery.Fallback(ok) }},
		{"recovery: FallbackIf: predicate is nil", func() { recovery.FallbackIf(nil) }},
		{"recovery: Fallback: option 0 is nil", func() { recovery.Fallback(ok, ok).With(nil) }},

		{"recovery: Timeout: primitive is nil", func() { recovery.Timeout(nilP, time.Second) }},
		{"recovery: Timeout: duration must be > 0, got 0s", func() { recovery.Timeout(ok, 0) }},
		{"recovery: Timeout: duration must be > 0, got -1s", func() { recovery.Timeout(ok, -time.Second) }},
		{"recovery: Timeout: WithFallback: fallback primitive is nil", func() { recovery.Timeout(ok, time.Second).WithFallback(nilP) }},
		{"recovery: Timeout: option 0 is nil", func() { recovery.Timeout(ok, time.Second, nil) }},

		{"recovery: CircuitBreaker: primitive is nil", func() { recovery.CircuitBreaker(nilP) }},
		{"recovery: FailureThreshold: threshold must be >= 1, got 0", func() { recovery.FailureThreshold(0) }},
		{"recovery: FailureRatio: ratio must be in (0, 1]", func() { recovery.FailureRatio(0, 1, time.Second) }},
		{"recovery: FailureRatio: minCalls must be >= 1", func() { recovery.FailureRatio(0.5, 0, time.Second) }},
		{"recovery: FailureRatio: window must be > 0", func() { recovery.FailureRatio(0.5, 1, 0) }},
		{"recovery: RecoveryTimeout: duration must be > 0", func() { recovery.RecoveryTimeout(0) }},
		{"recovery: SuccessThreshold: threshold must be >= 1", func() { recovery.SuccessThreshold(0) }},
		{"recovery: HalfOpenMaxCalls: limit must be >= 1", func() { recovery.HalfOpenMaxCalls(0) }},
		{"recovery: FailureIf: predicate is nil", func() { recovery.FailureIf(nil) }},
		{"recovery: OnStateChange: hook is nil", func() { recovery.OnStateChange(nil) }},
		{"recovery: WithClock: clock is nil", func() { recovery.WithClock(nil) }},
		{"recovery: CircuitBreaker: option 0 is nil", func() { recovery.CircuitBreaker(ok, nil) }},

		{"recovery: Step: action is nil", func() { recovery.Step(nilP, ok) }},
		{"recovery: Saga: no steps", func() { recovery.Saga[int]() }},
		{"recovery: Saga: step 1 has no action", func() { recovery.Saga(recovery.Step(ok, nil), recovery.SagaStep[int]{}) }},
		{"observability: zero Option", func() { recovery.Saga(recovery.Step(ok, nil)).With(observability.Option{}) }},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) { mustPanic(t, c.want, c.f) })
	}
}

func TestStepWithTypedNilCompensationHasNone(t *testing.T) {
	var nilFunc primitives.Func[int, int]
	s := recovery.Saga(recovery.Step(constant(1), nilFunc), recovery.Step(failing(errBench), nil))
	// Without the typed-nil check this would panic calling a nil func.
	if _, err := s.Execute(t.Context(), 0); err == nil {
		t.Fatal("no error")
	}
}
