package webhook_test

import (
	"context"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// A function that does not return, whether it panics with a nil value (which
// recover cannot tell from no panic at all when GODEBUG=panicnil=1 restores
// the behaviour of Go before 1.21) or ends its goroutine (runtime.Goexit, as
// t.FailNow does), has not succeeded: no 2xx answer, nothing recorded, and
// the redelivery runs it again.
func TestHandlerFunctionThatDoesNotReturnFails(t *testing.T) {
	t.Setenv("GODEBUG", "panicnil=1")
	for _, how := range []string{"panic(nil)", "runtime.Goexit"} {
		t.Run(how, func(t *testing.T) {
			b := newBilling(t)
			var calls atomic.Int32
			h := webhook.NewHandler(b.verifier(), webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))),
				webhook.On(webhook.SubscriptionUpdated, func(context.Context, *webhook.Event) error {
					if calls.Add(1) == 1 {
						if how == "runtime.Goexit" {
							runtime.Goexit()
						}
						panic(nil)
					}
					return nil
				}))
			body := subscriptionEvent(1, "jane.roe@example.com")
			first := make(chan int, 1)
			go func() {
				status := 0
				defer func() { first <- status }() // runs under Goexit too
				status = serve(h, b.request("msg_1", body))
			}()
			if got := <-first; got >= 200 && got < 300 {
				t.Errorf("the function did not return, yet the Handler answered %d", got)
			}
			if got := serveRecovering(t, h, b.request("msg_1", body)); got != http.StatusNoContent {
				t.Errorf("redelivery: %d, want 204 (processed: the first was not recorded)", got)
			}
			if n := calls.Load(); n != 2 {
				t.Errorf("the function ran %d times, want 2", n)
			}
		})
	}
}
