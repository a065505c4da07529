package recovery

import (
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// newBackOff builds the wait sequence of one Execute. It is called only
// after a first failure, so the happy path never allocates one.
func (c *retryConfig) newBackOff() backoff.BackOff {
	if c.custom != nil {
		b := c.custom()
		if b == nil {
			return &backoff.StopBackOff{}
		}
		b.Reset()
		return b
	}
	switch c.strategy {
	case strategyConstant:
		return withJitter(backoff.NewConstantBackOff(c.initial), c.jitter)
	case strategyLinear:
		return withJitter(&linearBackOff{step: c.initial, max: c.maxDelay}, c.jitter)
	default:
		e := &backoff.ExponentialBackOff{
			InitialInterval:     c.initial,
			RandomizationFactor: c.jitter,
			Multiplier:          c.multiplier,
			MaxInterval:         c.maxDelay,
			MaxElapsedTime:      0, // Retry enforces MaxElapsed itself, for every strategy.
			Stop:                backoff.Stop,
			Clock:               backoff.SystemClock,
		}
		e.Reset()
		return e
	}
}

// linearBackOff waits step, 2×step, 3×step, ... capped by max.
type linearBackOff struct {
	step, max time.Duration
	n         int64
}

func (l *linearBackOff) Reset() { l.n = 0 }

func (l *linearBackOff) NextBackOff() time.Duration {
	l.n++
	if l.step > 0 && l.n > int64(l.max/l.step) {
		return l.max
	}
	return time.Duration(l.n) * l.step
}

// jitterBackOff spreads the waits of b uniformly over [d×(1-f), d×(1+f)].
type jitterBackOff struct {
	b      backoff.BackOff
	factor float64
}

func withJitter(b backoff.BackOff, f float64) backoff.BackOff {
	if f == 0 {
		return b
	}
	return &jitterBackOff{b: b, factor: f}
}

func (j *jitterBackOff) Reset() { j.b.Reset() }

func (j *jitterBackOff) NextBackOff() time.Duration {
	d := j.b.NextBackOff()
	if d == backoff.Stop || d <= 0 {
		return d
	}
	delta := j.factor * float64(d)
	return time.Duration(float64(d) - delta + rand.Float64()*2*delta)
}
