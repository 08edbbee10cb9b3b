package meter_test

import (
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
)

// TestAddRacingCloseReturns: an Add that Close overtakes (Close ends while the
// Add hands its usage over) returns ErrClosed instead of waiting forever for a
// committer that has stopped. Each round, Close runs at the point where Add
// hands its usage over; the Add then finds both the queue open and the Meter
// closed, and may take either way.
func TestAddRacingCloseReturns(t *testing.T) {
	api := billingtest.NewServer(billingtest.WithT(t)).Client()
	t.Cleanup(func() { meter.SetTestHook(nil) })
	for range 64 {
		var m *meter.Meter
		meter.SetTestHook(func(p string) {
			if p == "add" {
				_ = m.Close()
			}
		})
		m = newMeter(t, api, meter.NewMemoryStore())
		done := make(chan error, 1)
		go func() {
			// No deadline: a partner's Add with context.Background.
			done <- m.Add(t.Context(), meter.Usage{Key: "k", SubscriptionID: sub, ItemID: item, Quantity: 1})
		}()
		if err := receive(t, done); err != meter.ErrClosed { //nolint:errorlint // ErrClosed itself, with its one billing: prefix
			t.Fatalf("Add overtaken by Close = %v, want ErrClosed", err)
		}
	}
}
