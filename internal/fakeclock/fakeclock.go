// Package fakeclock is a clock that only a test moves, for the SDK's tests and
// conformance suites: Now, channels from After that fire once the clock passes
// their time, and Set and Advance to move it.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a time that only the test moves. It is safe for concurrent use.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	// Waiting receives the wake-up time of each After (none when it is full),
	// so that a test can wait until the code under test sleeps.
	Waiting chan time.Time
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// New returns a Clock at now.
func New(now time.Time) *Clock {
	return &Clock{now: now, Waiting: make(chan time.Time, 16)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the clock's time once it reaches
// Now() + d (at once for d <= 0).
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	w := waiter{c.now.Add(d), ch}
	if d <= 0 {
		ch <- c.now
	} else {
		c.waiters = append(c.waiters, w)
	}
	select {
	case c.Waiting <- w.at:
	default:
	}
	return ch
}

// Set moves the clock to t and wakes the waiters whose time has come.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set(t)
}

// Advance moves the clock d ahead and wakes the waiters whose time has come.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set(c.now.Add(d))
}

func (c *Clock) set(t time.Time) {
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(t) {
			kept = append(kept, w)
			continue
		}
		w.ch <- t
	}
	c.waiters = kept
}
