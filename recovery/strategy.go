package recovery

import (
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// waitSeq yields the waits of one Execute. It lives on the stack of the
// retry loop: the built-in strategies compute their waits in place, with
// the formulas of backoff.ExponentialBackOff and its kin but without
// reading the clock (Retry enforces MaxElapsed itself), so a retry
// allocates nothing and makes no system call for its waits. A custom
// strategy ([WithBackOff]) is a backoff.BackOff of its own.
type waitSeq struct {
	cfg     *retryConfig
	custom  backoff.BackOff
	current time.Duration // exponential: the interval before jitter
	n       int64         // waits handed out so far
}

// start prepares the sequence; it is called only after a first failure,
// so the happy path never touches it.
func (w *waitSeq) start(c *retryConfig) {
	w.cfg = c
	if c.custom != nil {
		b := c.custom()
		if b == nil {
			b = &backoff.StopBackOff{}
		}
		b.Reset()
		w.custom = b
		return
	}
	w.current = c.initial
}

// next returns the next wait, or backoff.Stop when a custom strategy says
// to stop.
func (w *waitSeq) next() time.Duration {
	w.n++
	if w.custom != nil {
		return w.custom.NextBackOff()
	}
	c := w.cfg
	switch c.strategy {
	case strategyConstant:
		return jitter(c.initial, c.jitter)
	case strategyLinear:
		d := c.maxDelay
		if c.initial == 0 {
			d = 0
		} else if w.n <= int64(c.maxDelay/c.initial) {
			d = time.Duration(w.n) * c.initial
		}
		return jitter(d, c.jitter)
	default:
		d := jitter(w.current, c.jitter)
		if float64(w.current) >= float64(c.maxDelay)/c.multiplier {
			w.current = c.maxDelay
		} else {
			w.current = time.Duration(float64(w.current) * c.multiplier)
		}
		return d
	}
}

// jitter spreads d uniformly over [d×(1-f), d×(1+f)].
func jitter(d time.Duration, f float64) time.Duration {
	if f == 0 || d <= 0 {
		return d
	}
	delta := f * float64(d)
	return time.Duration(float64(d) - delta + rand.Float64()*2*delta)
}
