package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// receiver is the quickstart's webhook endpoint, as a partner's service runs
// it: a webhook.Handler that verifies each delivery's signature, skips
// duplicates and late events, and hands the event to the partner's code (here:
// it keeps a line to print). The fake Billing API sends it the events the flow
// causes.
type receiver struct {
	secret string
	srv    *httptest.Server

	mu   sync.Mutex
	rows [][]string
}

// startReceiver starts the endpoint on 127.0.0.1 with a new signing secret.
func startReceiver() *receiver {
	rx := &receiver{secret: webhook.NewSecret()}
	v, err := webhook.NewSignatureVerifier([]string{rx.secret})
	if err != nil {
		panic(err) // a secret from NewSecret is always valid
	}
	rx.srv = httptest.NewServer(webhook.NewHandler(v,
		webhook.OnOther(rx.record),
		webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))),
	))
	return rx
}

// option makes a billingtest.Server send its webhooks to the receiver.
func (rx *receiver) option() billingtest.Option {
	return billingtest.WithWebhook(rx.srv.URL, rx.secret)
}

func (rx *receiver) close() { rx.srv.Close() }

// record is the partner's handler: every event it gets is verified.
func (rx *receiver) record(_ context.Context, ev *webhook.Event) error {
	ent, _ := ev.Entity()
	var detail string
	switch {
	case ev.SubscriptionData != nil:
		s := ev.SubscriptionData.Subscription
		var items []string // the subscriptionItemIds of the API, without the module's name
		for _, it := range s.SubscriptionItems {
			id := strings.TrimPrefix(it.ItemPriceID, s.MetaData.Module+"-")
			if it.Quantity != 0 {
				id += fmt.Sprintf(" ×%g", it.Quantity)
			}
			items = append(items, id)
		}
		detail = fmt.Sprintf("%s, next invoice %s, items: %s", s.Status,
			s.NextBillingAt.Time().Format(time.DateOnly), strings.Join(items, ", "))
	case ev.PaymentData != nil:
		t := ev.PaymentData.Transaction
		var invoices []string
		for _, li := range t.LinkedInvoices {
			invoices = append(invoices, li.InvoiceID)
		}
		detail = fmt.Sprintf("%s %s, invoice %s", euros(t.Amount), t.Status, strings.Join(invoices, ", "))
	}
	rx.mu.Lock()
	defer rx.mu.Unlock()
	rx.rows = append(rx.rows, []string{ev.ID, string(ev.Type), ent.Kind + " " + ent.ID, detail})
	return nil
}

// report waits for the fake's webhooks and prints those the receiver got.
func (rx *receiver) report(ctx context.Context, r *report, srv *billingtest.Server) error {
	if err := srv.FlushWebhooks(ctx); err != nil {
		return err
	}
	r.section("Webhooks of this flow, received at %s, signatures verified", rx.srv.URL)
	rx.mu.Lock()
	rows := rx.rows
	rx.mu.Unlock()
	r.table([]string{"MESSAGE", "EVENT", "ENTITY", "DETAIL"}, rows...)
	answered := map[int]int{}
	deliveries := srv.WebhookDeliveries()
	for _, d := range deliveries {
		answered[d.Status]++
	}
	r.line("%d event(s) handled, %d deliveries, %d answered 204", len(rows), len(deliveries), answered[204])
	return nil
}
