package webhook_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// panicking is an Observer that panics in the method it names (Received
// returns nil for "nil context").
type panicking struct{ in string }

func (p panicking) Received(ctx context.Context, _ *http.Request) context.Context {
	if p.in == "nil context" {
		return nil
	}
	if p.in == "Received" {
		panic("observer Received")
	}
	return ctx
}

func (p panicking) Verified(context.Context, *webhook.Event) {
	if p.in == "Verified" {
		panic("observer Verified")
	}
}

func (p panicking) Done(context.Context, *webhook.Delivery) {
	if p.in == "Done" {
		panic("observer Done")
	}
}

// An Observer that panics changes nothing to a delivery: the function runs
// once, the Handler answers 204, and the Tracker records it (the redelivery is
// a duplicate).
func TestPanickingObserverChangesNoDelivery(t *testing.T) {
	for _, method := range []string{"Received", "Verified", "Done", "nil context"} {
		t.Run(method, func(t *testing.T) {
			b := newBilling(t)
			var calls atomic.Int32
			h := webhook.NewHandler(b.verifier(), webhook.WithObserver(panicking{in: method}),
				webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))),
				webhook.On(webhook.SubscriptionUpdated, func(context.Context, *webhook.Event) error {
					calls.Add(1)
					return nil
				}))
			body := subscriptionEvent(1, "jane.roe@example.com")
			if got := serveRecovering(t, h, b.request("msg_1", body)); got != http.StatusNoContent {
				t.Errorf("delivery: %d, want 204", got)
			}
			if got := serveRecovering(t, h, b.request("msg_1", body)); got != http.StatusOK {
				t.Errorf("redelivery: %d, want 200 (a duplicate)", got)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("the function ran %d times, want 1", n)
			}
		})
	}
}
