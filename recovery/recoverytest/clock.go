// Package recoverytest helps test code built on package recovery without
// sleeping: [Clock] is a recovery.Clock that moves only when the test
// says so.
package recoverytest

import (
	"sync"
	"time"
)

// Clock is a recovery.Clock whose time moves only through [Clock.Advance]
// and [Clock.Set]. Channels returned by After fire when the time reaches
// their deadline. It is safe for concurrent use.
//
//	clock := recoverytest.NewClock()
//	r := recovery.Retry(p, recovery.WithClock(clock), recovery.Constant(), recovery.InitialDelay(time.Minute))
//	go r.Execute(ctx, in)
//	clock.BlockUntilWaiters(1) // Retry is waiting for its minute
//	clock.Advance(time.Minute)  // ... which passes at once
type Clock struct {
	mu      sync.Mutex
	cond    *sync.Cond
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a Clock set to 1 January 2030, 00:00 UTC.
func NewClock() *Clock {
	c := &Clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the clock's time once it has
// moved d forward. A d <= 0 fires at once.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), ch: ch})
	c.cond.Broadcast()
	return ch
}

// Advance moves the clock forward by d and fires every After channel
// whose time has come.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.now.Add(d))
}

// Set moves the clock to t (which may be in the past of the clock) and
// fires every After channel whose time has come.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(t)
}

func (c *Clock) setLocked(t time.Time) {
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t
			continue
		}
		kept = append(kept, w)
	}
	clear(c.waiters[len(kept):])
	c.waiters = kept
}

// Waiters returns how many After channels have not fired yet.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// BlockUntilWaiters waits until at least n After channels are pending,
// so a test can advance the clock once the code under test is waiting.
func (c *Clock) BlockUntilWaiters(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.waiters) < n {
		c.cond.Wait()
	}
}
