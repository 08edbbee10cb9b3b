package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/internal/logscan"
)

// deliveryLog writes down what an Observer is told, and checks that the
// context Received returns reaches the HandlerFunc and the other steps.
type deliveryLog struct {
	mu    sync.Mutex
	lines []string
}

type deliveryKey struct{}

func (o *deliveryLog) add(format string, args ...any) {
	o.mu.Lock()
	o.lines = append(o.lines, fmt.Sprintf(format, args...))
	o.mu.Unlock()
}

func (o *deliveryLog) Received(ctx context.Context, r *http.Request) context.Context {
	o.add("received %s", r.Method)
	return context.WithValue(ctx, deliveryKey{}, "delivery")
}

func (o *deliveryLog) Verified(ctx context.Context, ev *webhook.Event) {
	o.add("verified %s %s (in %v)", ev.ID, ev.Type, ctx.Value(deliveryKey{}))
}

func (o *deliveryLog) Done(ctx context.Context, d *webhook.Delivery) {
	o.add("done %d %s %q (in %v), error %t", d.Status, d.Outcome, d.EventID, ctx.Value(deliveryKey{}), d.Err != nil)
}

// TestObserverAndLoggerSeeEachDelivery serves a delivery that fails, its
// retry, a duplicate, and a forged one, and checks what the Observer is told,
// the records logged, and that none holds the secret, a signature or an e-mail
// address (the customer's, in the event).
func TestObserverAndLoggerSeeEachDelivery(t *testing.T) {
	b := newBilling(t)
	obs := &deliveryLog{}
	var scan logscan.Scan
	logged := &logscan.Messages{}
	fail := true
	h := webhook.NewHandler(b.verifier(),
		webhook.WithObserver(obs),
		webhook.WithLogger(slog.New(scan.Handler(logged, b.secret))),
		webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))),
		webhook.On(webhook.CustomerCreated, func(ctx context.Context, ev *webhook.Event) error {
			obs.add("handle %s (in %v)", ev.ID, ctx.Value(deliveryKey{}))
			if fail {
				fail = false
				return errors.New("database down")
			}
			return nil
		}))
	body := fixture(t, webhook.CustomerCreated)
	forged := b.request("m2", body)
	forged.Header.Set("svix-signature", "v1,"+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	for _, r := range []*http.Request{b.request("m1", body), b.request("m1", body), b.request("m1", body), forged} {
		serve(h, r)
	}
	want := []string{
		"received POST", "verified m1 customer.created (in delivery)", "handle m1 (in delivery)", `done 500 failed "m1" (in delivery), error true`,
		"received POST", "verified m1 customer.created (in delivery)", "handle m1 (in delivery)", `done 204 handled "m1" (in delivery), error false`,
		"received POST", "verified m1 customer.created (in delivery)", `done 200 duplicate "m1" (in delivery), error false`,
		"received POST", `done 401 refused "" (in delivery), error true`,
	}
	if diff := cmp.Diff(want, obs.lines); diff != "" {
		t.Errorf("observer (-want +got):\n%s", diff)
	}
	wantLogged := []string{
		"DEBUG webhook: received", "DEBUG webhook: verified", "ERROR webhook: handler failed",
		"DEBUG webhook: received", "DEBUG webhook: verified", "DEBUG webhook: processed",
		"DEBUG webhook: received", "DEBUG webhook: verified", "DEBUG webhook: skipped",
		"DEBUG webhook: received", "WARN webhook: refused",
	}
	if diff := cmp.Diff(wantLogged, logged.Lines()); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if leaks := scan.Leaks(); len(leaks) > 0 {
		t.Errorf("records hold secrets: %q", leaks)
	}
}
