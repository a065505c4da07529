package performance

import (
	"fmt"
	"time"

	"github.com/ttadev/primitives/internal/seal"
)

// LimitOption is an option accepted by both [Bulkhead] and [RateLimit].
type LimitOption interface {
	BulkheadOption
	RateLimitOption
}

type maxWaitOption struct{ d time.Duration }

func (maxWaitOption) ForBulkhead(seal.Token)  {}
func (maxWaitOption) ForRateLimit(seal.Token) {}

// MaxWait bounds how long a call may wait.
//   - Bulkhead: a queued call that has not got a slot after d gives up with
//     [ErrBulkheadFull] (without it, it waits as long as its context
//     allows).
//   - RateLimit: a call waits for its token when the token comes within d,
//     and fails at once with a *[RateLimitedError] otherwise.
//
// d <= 0 panics.
func MaxWait(d time.Duration) LimitOption {
	if d <= 0 {
		panic(fmt.Sprintf("performance: MaxWait: duration must be > 0, got %s", d))
	}
	return maxWaitOption{d: d}
}

type bulkheadOptionFunc func(*bulkheadConfig)

func (bulkheadOptionFunc) ForBulkhead(seal.Token) {}

// MaxQueue lets up to n calls wait for a slot when all are busy (default 0:
// a call that finds every slot busy fails at once with [ErrBulkheadFull]).
// The n+1th waiting call is refused at once. n < 0 panics.
func MaxQueue(n int) BulkheadOption {
	if n < 0 {
		panic(fmt.Sprintf("performance: MaxQueue: n must be >= 0, got %d", n))
	}
	return bulkheadOptionFunc(func(c *bulkheadConfig) { c.maxQueue = n })
}

type rateLimitOptionFunc func(*rateLimitConfig)

func (rateLimitOptionFunc) ForRateLimit(seal.Token) {}

// Wait makes a rate limit wait for its token as long as the caller's
// context allows, instead of failing fast (the default). A call whose
// context deadline comes before its token fails at once with a
// *[RateLimitedError] rather than waiting in vain.
func Wait() RateLimitOption {
	return rateLimitOptionFunc(func(c *rateLimitConfig) { c.wait = true; c.maxWait = 0 })
}
