package meter_test

import (
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
	"github.com/prestashopcorp/billing-sdk-go/internal/fakeclock"
)

// TestUsageStampedInTheFutureIsStillReportedLate: a Usage.At later than the
// Meter's clock (a caller's clock ahead, a time zone mistaken) is recorded as
// of the Add, so that usage sent after the period end it was recorded before
// is reported late, not moved to the next invoice in silence.
func TestUsageStampedInTheFutureIsStillReportedLate(t *testing.T) {
	ctx := t.Context()
	end := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	clock := fakeclock.New(end.Add(-2 * time.Hour))
	m := newMeter(t, billingtest.NewServer(billingtest.WithT(t)).Client(), meter.NewMemoryStore(), meter.WithClock(clock))
	if err := m.SetPeriodEnd(ctx, sub, end); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(ctx, meter.Usage{Key: "k", SubscriptionID: sub, ItemID: item, Quantity: 3, At: end.Add(5 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	clock.Set(end.Add(time.Hour)) // Billing could not be reached before the end
	r := flush(t, m)
	if r.Sent != 1 || len(r.Late) != 1 || !r.Late[0].MissedPeriodEnd.Equal(end) {
		t.Fatalf("report = %+v, want the batch sent and reported late, missing %v", r, end)
	}
	if !r.Late[0].FirstAt.Equal(end.Add(-2 * time.Hour)) {
		t.Errorf("the usage is recorded at %v, want the time of the Add", r.Late[0].FirstAt)
	}
}

// TestRenewalLearntJustBeforeTheEndKeepsTheEnd: the renewal's webhook (the
// next period's end) reaches an instance whose clock is a little behind
// Billing's, so it arrives before the end by that clock. The end it renews
// must still count as passed for the usage recorded before it and sent after.
func TestRenewalLearntJustBeforeTheEndKeepsTheEnd(t *testing.T) {
	ctx := t.Context()
	end := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	clock := fakeclock.New(end.Add(-10 * time.Second))
	m := newMeter(t, billingtest.NewServer(billingtest.WithT(t)).Client(), meter.NewMemoryStore(), meter.WithClock(clock))
	if err := m.SetPeriodEnd(ctx, sub, end); err != nil {
		t.Fatal(err)
	}
	add(t, m, "k", 3)
	clock.Set(end.Add(-2 * time.Second)) // Billing renews at end; this clock is 2 s behind
	if err := m.SetPeriodEnd(ctx, sub, end.AddDate(0, 1, 0)); err != nil {
		t.Fatal(err)
	}
	clock.Set(end.Add(time.Minute))
	r := flush(t, m)
	if r.Sent != 1 || len(r.Late) != 1 || !r.Late[0].MissedPeriodEnd.Equal(end) {
		t.Fatalf("report = %+v, want the batch sent and reported late, missing %v", r, end)
	}
}
