package meter

import (
	"context"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// Hook returns a webhook.HandlerFunc that teaches the Meter each subscription's
// period end (next_billing_at) from the subscription events Billing sends
// (subscription.updated comes on each renewal and plan change), then calls
// next (which may be nil). Register it, wrapping your own function, for the
// subscription events:
//
//	h := webhook.NewHandler(verifier, webhook.WithTracker(tracker),
//		webhook.On(webhook.SubscriptionCreated, m.Hook(onCreated)),
//		webhook.On(webhook.SubscriptionUpdated, m.Hook(onUpdated)),
//	)
//
// With a Tracker, subscription events that arrive late are skipped (a late
// creation event runs, and teaches nothing) and never move a period end back.
// Payment events pass through to next without
// teaching anything: the Tracker orders them by their transaction, so a late
// one runs, and the subscription it carries may be older than one already
// learnt. If the journal fails, the function fails and Billing delivers the
// event again.
func (m *Meter) Hook(next webhook.HandlerFunc) webhook.HandlerFunc {
	return func(ctx context.Context, ev *webhook.Event) error {
		// Subscription events only: a payment event is ordered by its
		// transaction (see above). A creation event that came after newer
		// events of its subscription runs, but its end is older.
		h, _ := webhook.HoldFrom(ctx)
		if d := ev.SubscriptionData; d != nil && !h.Late() && d.Subscription.ID != "" && !d.Subscription.NextBillingAt.IsZero() {
			if err := m.SetPeriodEnd(ctx, d.Subscription.ID, d.Subscription.NextBillingAt.Time()); err != nil {
				return err
			}
		}
		if next != nil {
			return next(ctx, ev)
		}
		return nil
	}
}
