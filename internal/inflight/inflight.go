// Package inflight counts the calls a server is handling, so that closing the
// server can wait for them, and turns away the calls that start once it is
// closed. An HTTP/2 connection ends without waiting for the handlers of its
// streams: a handler may still run, or even start, after
// httptest.Server.Close returned.
package inflight

import "sync"

// Calls counts calls in flight. The zero value is ready to use.
type Calls struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// Enter counts a call in and reports true, or reports false once Close was
// called: the call must then do nothing. A call counted in ends with Leave.
func (c *Calls) Enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.wg.Add(1)
	}
	return !c.closed
}

// Leave counts out a call that Enter counted in.
func (c *Calls) Leave() { c.wg.Done() }

// Close turns away the calls that enter from now on.
func (c *Calls) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
}

// Wait waits until every call counted in has left.
func (c *Calls) Wait() { c.wg.Wait() }
