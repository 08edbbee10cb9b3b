package meter_test

import (
	"sync"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
)

const (
	sub  = billingtest.SubscriptionID
	item = billingtest.APICallsAddonID // metered, per unit, 2 cents a unit
	op   = "setSubscriptionItemUsage"
)

// newMeter returns a Meter on store sending to api, closed with t.
func newMeter(t *testing.T, api billing.API, store meter.Store, opts ...meter.Option) *meter.Meter {
	t.Helper()
	m, err := meter.New(api, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func add(t *testing.T, m *meter.Meter, key string, q float64) {
	t.Helper()
	if err := m.Add(t.Context(), meter.Usage{Key: key, SubscriptionID: sub, ItemID: item, Quantity: q}); err != nil {
		t.Fatal(err)
	}
}

func flush(t *testing.T, m *meter.Meter) meter.Report {
	t.Helper()
	r, err := m.Flush(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fakeClock is a Clock that moves only when the test says. Waiting announces
// each After call, so that a test advances the clock once the Meter waits.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	Waiting chan time.Time // receives the wake-up time of each After
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, Waiting: make(chan time.Time, 16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
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
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
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
