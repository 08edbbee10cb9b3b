package inflight

import (
	"sync/atomic"
	"testing"
)

func TestWaitWaitsForTheCallsInAndCloseTurnsAwayTheRest(t *testing.T) {
	var c Calls
	if !c.Enter() {
		t.Fatal("Enter before Close = false")
	}
	var leaving atomic.Bool
	go func() {
		leaving.Store(true)
		c.Leave()
	}()
	c.Close()
	if c.Enter() {
		t.Error("Enter after Close = true")
	}
	c.Wait()
	if !leaving.Load() {
		t.Error("Wait returned before the call in flight left")
	}
}
