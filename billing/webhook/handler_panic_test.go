package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// subscriptionEvent is a subscription.updated body of subscription sub1 at
// version v, whose customer has the e-mail address email.
func subscriptionEvent(v int64, email string) []byte {
	return fmt.Appendf(nil, `{"eventType":"subscription.updated","data":{"shopId":"shop1",`+
		`"customer":{"id":"cus1","email":%q},"subscription":{"id":"sub1","status":"active","resource_version":%d}}}`, email, v)
}

// serveRecovering is serve, reporting a panic that escaped the handler as
// status 0.
func serveRecovering(t *testing.T, h http.Handler, r *http.Request) (status int) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			t.Errorf("the panic escaped the handler: %v", v)
			status = 0
		}
	}()
	return serve(h, r)
}

// A panicking function is a failed one: 500 (Billing delivers the message
// again), nothing recorded (the claim released, the version not advanced, the
// entity free), and an error logged without the body, the signature or the
// customer's e-mail.
func TestHandlerRecoversPanickingFunction(t *testing.T) {
	const email = "jane.roe@example.com"
	for _, tracked := range []bool{true, false} {
		t.Run(fmt.Sprintf("tracker %v", tracked), func(t *testing.T) {
			b := newBilling(t)
			var logs bytes.Buffer
			var calls atomic.Int32
			opts := []webhook.HandlerOption{
				webhook.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
				webhook.On(webhook.SubscriptionUpdated, func(_ context.Context, ev *webhook.Event) error {
					if calls.Add(1) == 1 {
						panic("no account for " + ev.Customer().Email + " in " + string(ev.Data))
					}
					return nil
				}),
			}
			if tracked {
				opts = append(opts, webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))))
			}
			h := webhook.NewHandler(b.verifier(), opts...)

			body := subscriptionEvent(20, email)
			first := b.request("msg_2", body)
			if got := serveRecovering(t, h, first); got != http.StatusInternalServerError {
				t.Errorf("panicking function: %d, want 500", got)
			}
			// An older event of the subscription: processed, so the panicking
			// one did not advance the version. Delivered with a context already
			// done: were the entity lock still held, the Tracker would give up
			// at once (ctx.Err) instead of waiting.
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if got := serveRecovering(t, h, b.request("msg_1", subscriptionEvent(10, email)).WithContext(ctx)); got != http.StatusNoContent {
				t.Errorf("older event of the entity after the panic: %d, want 204", got)
			}
			// Billing's redelivery of the message that panicked: processed.
			if got := serveRecovering(t, h, b.request("msg_2", body)); got != http.StatusNoContent {
				t.Errorf("redelivery after the panic: %d, want 204", got)
			}
			if n := calls.Load(); n != 3 {
				t.Errorf("the function ran %d times, want 3", n)
			}

			out := logs.String()
			for _, want := range []string{"level=ERROR", "panicked", "status=500", "event_id=msg_2", "event_type=subscription.updated", "panic=string", "TestHandlerRecoversPanickingFunction"} {
				if !strings.Contains(out, want) {
					t.Errorf("logs lack %q:\n%s", want, out)
				}
			}
			for _, secret := range []string{email, "shop1", "sub1", b.secret[6:], first.Header.Get("svix-signature")[3:]} {
				if strings.Contains(out, secret) {
					t.Errorf("logs hold %q:\n%s", secret, out)
				}
			}
		})
	}
}

// A runtime error is logged with its text: the runtime writes it, not the
// partner, and it holds no data of the event.
func TestHandlerLogsRuntimePanic(t *testing.T) {
	b := newBilling(t)
	var logs bytes.Buffer
	h := webhook.NewHandler(b.verifier(),
		webhook.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		webhook.On(webhook.SubscriptionUpdated, func(_ context.Context, ev *webhook.Event) error {
			var items []string
			_ = items[len(ev.Customer().Email)] // index out of range
			return nil
		}))
	if got := serveRecovering(t, h, b.request("msg_1", subscriptionEvent(1, "jane.roe@example.com"))); got != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", got)
	}
	if out := logs.String(); !strings.Contains(out, "index out of range") || strings.Contains(out, "jane.roe") {
		t.Errorf("logs:\n%s", out)
	}
}

// A panic in the function given to Tracker.Process goes on up to the caller,
// with the claim released and the entity lock free.
func TestTrackerReleasesAfterPanic(t *testing.T) {
	tr := webhook.NewTracker(webhook.NewMemoryStore(0))
	ev, err := webhook.Decode(subscriptionEvent(5, "jane.roe@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	ev.ID = "msg_1"
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach Process's caller")
			}
		}()
		_, _ = tr.Process(t.Context(), ev, func(context.Context) error { panic("boom") })
	}()
	// With a context already done, a held entity lock fails at once.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	out, err := tr.Process(ctx, ev, func(context.Context) error { return nil })
	if err != nil || out != webhook.Processed {
		t.Errorf("Process after a panic = %v, %v; want processed", out, err)
	}
}
