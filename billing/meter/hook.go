package meter

import (
	"context"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// Hook returns a webhook.HandlerFunc that teaches the Meter each subscription's
// period end (next_billing_at) from the subscription and payment events Billing
// sends, then calls next (which may be nil). Register it, wrapping your own
// function, for the types that carry a subscription:
//
//	h := webhook.NewHandler(verifier, webhook.WithTracker(tracker),
//		webhook.On(webhook.SubscriptionCreated, m.Hook(onCreated)),
//		webhook.On(webhook.SubscriptionUpdated, m.Hook(onUpdated)),
//		webhook.On(webhook.PaymentSucceeded, m.Hook(nil)),
//	)
//
// With a Tracker, events that arrive late are skipped and never move a period
// end back. If the journal fails, the function fails and Billing delivers the
// event again.
func (m *Meter) Hook(next webhook.HandlerFunc) webhook.HandlerFunc {
	return func(ctx context.Context, ev *webhook.Event) error {
		if s := ev.Subscription(); s != nil && s.ID != "" && !s.NextBillingAt.IsZero() {
			if err := m.SetPeriodEnd(ctx, s.ID, s.NextBillingAt.Time()); err != nil {
				return err
			}
		}
		if next != nil {
			return next(ctx, ev)
		}
		return nil
	}
}
