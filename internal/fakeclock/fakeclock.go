// Package fakeclock is the clock that Larder's tests move by hand instead of
// sleeping: pass Clock.Now wherever a clock function is taken (WithClock,
// memory.Options.Clock) and call Advance to let time pass.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a clock that stands still until Advance. It is safe for
// concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock stopped at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
