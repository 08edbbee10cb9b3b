package meter_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/internal/fakeclock"
)

// receive returns the next value of ch, failing the test if none comes in 10 s
// (a guard against a hang, not a synchronisation).
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing came in 10 s")
		panic("unreachable")
	}
}

// subscriptionUpdated is Billing's webhook of a renewal, as Hook receives it.
func subscriptionUpdated(t *testing.T, id string, next time.Time) *webhook.Event {
	t.Helper()
	ev, err := webhook.Decode(fmt.Appendf(nil, `{"eventType":"subscription.updated","data":{"subscription":{"id":%q,"next_billing_at":%d}}}`,
		id, next.Unix()))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestRunFlushesAMarginBeforeThePeriodEndsAndReportsLateUsage(t *testing.T) {
	clock := fakeclock.New(time.Date(2025, 12, 20, 12, 0, 0, 0, time.UTC))
	srv := billingtest.NewServer(billingtest.WithT(t), billingtest.WithClock(clock.Now))
	reports := make(chan meter.Report, 8)
	const margin = time.Hour
	m := newMeter(t, srv.Client(), meter.NewMemoryStore(), meter.WithClock(clock),
		meter.WithInterval(30*24*time.Hour), meter.WithMargin(margin),
		meter.WithOnFlush(func(r meter.Report) { reports <- r }))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		receive(t, done)
	}()
	receive(t, reports) // the flush Run starts with

	// The period ends on the seed's renewal date, which a webhook tells.
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hooked := false
	if err := m.Hook(func(context.Context, *webhook.Event) error { hooked = true; return nil })(ctx,
		subscriptionUpdated(t, sub, end)); err != nil || !hooked {
		t.Fatalf("Hook: %v, next function called: %t", err, hooked)
	}
	add(t, m, "before-the-margin", 7)

	// Run sleeps until the margin before the end (the interval is a month).
	for receive(t, clock.Waiting) != end.Add(-margin) {
	}
	clock.Set(end.Add(-margin))
	if r := receive(t, reports); r.Sent != 1 || r.Units != 7 || len(r.Late) != 0 {
		t.Fatalf("the flush before the end: %+v, want 7 units on time", r)
	}

	// Usage recorded after the margin misses the period...
	clock.Set(end.Add(-margin / 2))
	add(t, m, "after-the-margin", 4)
	clock.Set(end)
	inv, err := srv.CloseBillingPeriod(sub, false)
	if err != nil {
		t.Fatal(err)
	}
	billed := 0.0
	for _, li := range inv.LineItems {
		if li.ComponentID == item {
			billed += li.Amount
		}
	}
	if billed != 7*2 {
		t.Errorf("the period's invoice bills %g for the item, want 14 (7 units at 2)", billed)
	}
	// ...and is reported late when it is sent, on the next period.
	if err := m.Hook(nil)(ctx, subscriptionUpdated(t, sub, end.AddDate(0, 1, 0))); err != nil {
		t.Fatal(err)
	}
	r, err := m.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Late) != 1 || r.Late[0].Quantity != 4 || !r.Late[0].MissedPeriodEnd.Equal(end) {
		t.Fatalf("the flush after the end: %+v, want the 4 units reported late, missing the end %v", r, end)
	}
	if got := srv.Usage(sub, item, false); got != 4 {
		t.Errorf("the next period's usage = %g, want the 4 late units", got)
	}
}

func TestHookLearnsThePeriodEndFromBillingsWebhooks(t *testing.T) {
	secret := webhook.NewSecret()
	v, err := webhook.NewSignatureVerifier([]string{secret})
	if err != nil {
		t.Fatal(err)
	}
	store := meter.NewMemoryStore()
	var m *meter.Meter // set before Billing sends anything
	partner := 0
	rx := httptest.NewServer(webhook.NewHandler(v,
		webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))),
		webhook.On(webhook.SubscriptionUpdated, func(ctx context.Context, ev *webhook.Event) error {
			return m.Hook(func(context.Context, *webhook.Event) error { partner++; return nil })(ctx, ev)
		})))
	defer rx.Close()
	srv := billingtest.NewServer(billingtest.WithT(t), billingtest.WithWebhook(rx.URL, secret))
	m = newMeter(t, srv.Client(), store)

	// A renewal: Billing issues the invoice and sends subscription.updated
	// with the next period's end.
	if _, err := srv.CloseBillingPeriod(sub, false); err != nil {
		t.Fatal(err)
	}
	if err := srv.FlushWebhooks(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	got, err := store.NextPeriodEnds(t.Context(), meter.Live, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if !got[sub].Equal(want) || partner != 1 {
		t.Fatalf("period ends learnt = %v (partner's function called %d times), want %s: %v", got, partner, sub, want)
	}
}
