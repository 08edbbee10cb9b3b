package meter_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/internal/fakeclock"
)

// TestLatePaymentEventDoesNotMoveThePeriodEnd: the Tracker orders a payment
// event by its transaction, not by the subscription it carries, so a payment
// event delivered late is news and runs; the snapshot of the subscription in
// it may be older than one already learnt, and must not replace its period end.
func TestLatePaymentEventDoesNotMoveThePeriodEnd(t *testing.T) {
	now := time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)
	before := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC) // the end before a plan change
	after := time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)  // the end the plan change set
	decode := func(s string) *webhook.Event {
		t.Helper()
		ev, err := webhook.Decode([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	// Billing's order: the payment (subscription version 1), then the plan
	// change (version 2). They arrive the other way round.
	planChange := decode(fmt.Sprintf(`{"id":"m2","eventType":"subscription.updated","data":{"subscription":`+
		`{"id":%q,"next_billing_at":%d,"resource_version":"2000"}}}`, sub, after.Unix()))
	latePayment := decode(fmt.Sprintf(`{"id":"m1","eventType":"payment.succeeded","data":{"transaction":`+
		`{"id":"txn_1","resource_version":"1000"},"subscription":{"id":%q,"next_billing_at":%d,"resource_version":"1000"}}}`,
		sub, before.Unix()))

	store := meter.NewMemoryStore()
	m := newMeter(t, billingtest.NewServer(billingtest.WithT(t)).Client(), store, meter.WithClock(fakeclock.New(now)))
	got := periodEndsAfter(t, store, now, m.Hook(nil), planChange, latePayment)
	if !got[sub].Equal(after) {
		t.Errorf("period end = %v, want %v (the plan change's, not the late payment's snapshot)", got[sub], after)
	}
}

// TestLateCreationEventDoesNotMoveThePeriodEnd: the Tracker runs a creation
// event even when it comes after newer events of its subscription (its first
// delivery failed); its next_billing_at is then older than the one learnt.
func TestLateCreationEventDoesNotMoveThePeriodEnd(t *testing.T) {
	now := time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)
	created := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC) // the end at creation
	changed := time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC) // the end a plan change set
	event := func(id, typ string, end time.Time, version int) *webhook.Event {
		t.Helper()
		ev, err := webhook.Decode(fmt.Appendf(nil, `{"id":%q,"eventType":%q,"data":{"subscription":`+
			`{"id":%q,"next_billing_at":%d,"resource_version":"%d"}}}`, id, typ, sub, end.Unix(), version))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	store := meter.NewMemoryStore()
	m := newMeter(t, billingtest.NewServer(billingtest.WithT(t)).Client(), store, meter.WithClock(fakeclock.New(now)))
	partner := 0
	got := periodEndsAfter(t, store, now, m.Hook(func(context.Context, *webhook.Event) error { partner++; return nil }),
		event("m2", "subscription.updated", changed, 2000),
		event("m1", "subscription.created", created, 1000)) // its retry, late
	if !got[sub].Equal(changed) || partner != 2 {
		t.Errorf("period end = %v (partner's function ran %d times), want %v (the plan change's) and both events passed on",
			got[sub], partner, changed)
	}
}

// periodEndsAfter runs evs in turn through a Tracker and hook, each of them
// processed, and returns the period ends store then holds after now.
func periodEndsAfter(t *testing.T, store meter.Store, now time.Time, hook webhook.HandlerFunc, evs ...*webhook.Event) map[string]time.Time {
	t.Helper()
	tracker := webhook.NewTracker(webhook.NewMemoryStore(0))
	for _, ev := range evs {
		out, err := tracker.Process(t.Context(), ev, func(ctx context.Context) error { return hook(ctx, ev) })
		if err != nil || out != webhook.Processed {
			t.Fatalf("%s: %v, %v; want it processed", ev.Type, out, err)
		}
	}
	got, err := store.NextPeriodEnds(t.Context(), meter.Live, now)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
