package billingtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest/internal/delivery"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// BillingRetrySchedule returns the waits of Billing's webhook system before each
// new delivery of a message whose delivery failed (any non-2xx answer or no
// answer): immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, about
// 28 hours in all.
func BillingRetrySchedule() []time.Duration {
	return []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
		2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
}

// WithWebhook makes the server send Billing's webhooks, signed with secret
// (whsec_ and base64, as webhook.NewSecret makes), to url: the endpoint of the
// code under test. It panics if secret is invalid. The server sends, as its state
// changes: customer.created (addCustomer), subscription.created
// (CreateSubscription), subscription.updated (a new plan or quantity, and the
// renewal of CloseBillingPeriod), payment.succeeded (CloseBillingPeriod's
// invoice, paid). Bodies are the documented Chargebee objects
// (webhook.SubscriptionData...); message ids are msg_000001, msg_000002...; each
// attempt is signed with the server's clock (give the verifier the same one,
// webhook.WithClock).
//
// Messages are delivered one at a time, in the order of the changes, from a
// queue that API calls never wait for. A failed attempt (no 2xx) is retried on
// Billing's schedule, compressed (WithWebhookRetries), while the next messages
// go on, as with Billing. FlushWebhooks waits for the queue, WebhookFault
// scripts duplicates and reordering, WebhookDeliveries lists the attempts.
func WithWebhook(url, secret string) Option {
	s, err := webhook.NewSigner(secret)
	if err != nil {
		panic("billingtest: WithWebhook: " + err.Error())
	}
	return func(c *config) { c.webhookURL, c.signer = url, s }
}

// WithWebhookRetries sets the waits before each new delivery of a message
// whose delivery failed; their number is the number of retries. The default is
// BillingRetrySchedule with every second turned into a microsecond (8 retries
// within 0.1 s). No argument disables retries. It applies with WithWebhook, in
// either order.
func WithWebhookRetries(waits ...time.Duration) Option {
	return func(c *config) { c.retries = append([]time.Duration{}, waits...) }
}

// A WebhookFault scripts the delivery of the next webhook message queued.
type WebhookFault int

const (
	// WebhookDuplicate delivers the message a second time, with the same id,
	// once its first delivery succeeded: as Billing does when it did not get
	// the answer.
	WebhookDuplicate WebhookFault = iota + 1
	// WebhookSwap holds the message until the next one is queued, then
	// delivers that one first. FlushWebhooks releases a message held alone. The
	// next message uses up the next fault too (a WebhookDuplicate applies to it;
	// a WebhookSwap does nothing).
	WebhookSwap
)

// WebhookFault queues f for the next message queued after the faults queued
// before it, one fault per message. It panics on an unknown fault, or if the
// server sends no webhooks.
func (s *Server) WebhookFault(f WebhookFault) {
	if f != WebhookDuplicate && f != WebhookSwap {
		panic("billingtest: unknown WebhookFault")
	}
	if s.hooks == nil {
		panic("billingtest: WebhookFault without WithWebhook")
	}
	s.hooks.Fault(delivery.Fault(f))
}

// A WebhookDelivery is one attempt to deliver a webhook message.
type WebhookDelivery struct {
	MessageID string
	Type      webhook.Type
	Attempt   int    // 1 for the first
	Status    int    // the answer's status; 0 without an answer
	Err       string // why there was no answer
}

// WebhookDeliveries returns the delivery attempts made so far, in order.
func (s *Server) WebhookDeliveries() []WebhookDelivery {
	var out []WebhookDelivery
	for _, a := range s.hooks.Log() {
		out = append(out, WebhookDelivery(a))
	}
	return out
}

// FlushWebhooks waits until every message queued so far, and its retries, are
// delivered or given up (a message a WebhookSwap holds is released). It returns
// ctx's error if ctx ends first, and an error once the server is closed (Close
// drops the messages left). Without WithWebhook it returns nil at once.
func (s *Server) FlushWebhooks(ctx context.Context) error {
	return s.hooks.Flush(ctx)
}

// CreateSubscription adds a subscription to the sandbox or live store, as a
// merchant subscribing in the shop does (a fake-only step: the API has no such
// operation), and sends subscription.created. Its items name components by id,
// as in a Seed; an empty resourceVersion is set by the server's clock. It
// fails if the id is empty or taken.
func (s *Server) CreateSubscription(sub gen.Subscription, sandbox bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.store(sandbox)
	switch _, taken := st.subs[sub.ID]; {
	case sub.ID == "":
		return errors.New("billingtest: CreateSubscription: empty id")
	case taken:
		return fmt.Errorf("billingtest: CreateSubscription: subscription %s exists", sub.ID)
	}
	ns := &subscription{Subscription: clone(sub)}
	if ns.ResourceVersion == "" {
		ns.bump(s.cfg.now())
	}
	st.subs[sub.ID] = ns
	s.emit(st, webhook.SubscriptionCreated, ns.ShopID, ns, nil)
	return nil
}

// newHooks starts the sender of c, or returns nil without WithWebhook.
func newHooks(c config) *delivery.Queue {
	if c.signer == nil {
		if c.retries != nil {
			panic("billingtest: WithWebhookRetries without WithWebhook")
		}
		return nil
	}
	if c.retries == nil {
		c.retries = BillingRetrySchedule()
		for i := range c.retries {
			c.retries[i] /= time.Second / time.Microsecond
		}
	}
	return delivery.New(c.webhookURL, c.signer, c.retries, c.now)
}

// emit sends a webhook of type typ about the customer shopID of store st, its
// subscription sub (but for customer.created) and inv (payment.succeeded, paid
// in full). The caller holds the Server's mutex.
func (s *Server) emit(st *store, typ webhook.Type, shopID string, sub *subscription, inv *gen.Invoice) {
	if s.hooks == nil {
		return
	}
	now := s.cfg.now()
	if typ == webhook.CustomerCreated {
		st.created[shopID] = webhook.Version(now.UnixMilli())
	}
	cust := st.webhookCustomer(shopID)
	switch typ {
	case webhook.CustomerCreated:
		s.hooks.Send(typ, webhook.CustomerData{Customer: cust, ChargebeeCustomerID: shopID, ShopID: shopID})
	case webhook.PaymentSucceeded:
		at := webhook.Timestamp(inv.InvoiceDate)
		s.hooks.Send(typ, webhook.PaymentData{
			ModuleID: sub.ProductID, Customer: cust, Subscription: webhookSubscription(sub, now),
			Transaction: webhook.Transaction{
				ID: "txn_" + inv.InvoiceID, CustomerID: sub.ShopID, SubscriptionID: sub.ID,
				PaymentMethod: "card", Type: "payment", Date: at, Amount: inv.AmountTotal,
				Status: webhook.TransactionSuccess, UpdatedAt: webhook.TimestampOf(now),
				ResourceVersion: webhook.Version(now.UnixMilli()), Object: "transaction",
				CurrencyCode: inv.CurrencyCode, BaseCurrencyCode: inv.CurrencyCode,
				LinkedInvoices: []webhook.LinkedInvoice{{
					InvoiceID: inv.InvoiceID, AppliedAmount: inv.AmountTotal, AppliedAt: at,
					InvoiceDate: at, InvoiceTotal: inv.AmountTotal, InvoiceStatus: inv.Status,
				}},
			},
		})
	default:
		s.hooks.Send(typ, webhook.SubscriptionData{
			ShopID: shopID, ChargebeeCustomerID: shopID, Customer: cust, Subscription: webhookSubscription(sub, now),
		})
	}
}

// webhookCustomer is the webhook customer id of st.
func (st *store) webhookCustomer(id string) webhook.Customer {
	out := webhook.Customer{ID: id, ShopID: id, Object: "customer", ResourceVersion: st.created[id]}
	c, ok := st.customers[id]
	if !ok {
		return out
	}
	out.Email = string(c.Email)
	out.VATNumber = c.VatNumber
	out.AutoCollection, out.Taxability, out.PreferredCurrencyCode = "on", "taxable", "EUR"
	if a := c.BillingAddress; a != nil {
		out.BillingAddress = &webhook.BillingAddress{
			FirstName: a.FirstName, LastName: a.LastName, Company: a.CompanyName,
			Line1: a.Line1, Line2: a.Line2, City: a.City, Country: a.Country,
			Zip: a.Zip, Object: "billing_address",
		}
	}
	return out
}

// webhookSubscription is the webhook subscription of sub, updated at now.
func webhookSubscription(sub *subscription, now time.Time) webhook.Subscription {
	rv, _ := strconv.ParseInt(sub.ResourceVersion, 10, 64)
	out := webhook.Subscription{
		ID: sub.ID, BillingPeriod: 1, BillingPeriodUnit: sub.BillingPeriodUnit,
		CustomerID: sub.ShopID, Status: webhook.Status(sub.Status),
		NextBillingAt:       webhook.Timestamp(sub.NextRenewalAt),
		ActivatedAt:         webhook.Timestamp(sub.ActivatedAt),
		StartedAt:           webhook.Timestamp(sub.ActivatedAt),
		CreatedAt:           webhook.Timestamp(sub.ActivatedAt),
		CancelledAt:         webhook.Timestamp(sub.CancelledAt),
		TrialEnd:            webhook.Timestamp(sub.TrialEndAt),
		UpdatedAt:           webhook.TimestampOf(now),
		HasScheduledChanges: sub.HasScheduledChanges,
		ResourceVersion:     webhook.Version(rv),
		Object:              "subscription", CurrencyCode: sub.CurrencyCode, BaseCurrencyCode: sub.CurrencyCode,
		MetaData: webhook.SubscriptionMeta{Module: sub.ProductID},
	}
	if sub.NextRenewalAt != 0 {
		end := webhook.Timestamp(sub.NextRenewalAt).Time()
		out.CurrentTermStart = webhook.TimestampOf(addPeriod(end, sub.BillingPeriodUnit, -1))
		out.CurrentTermEnd = webhook.TimestampOf(end.Add(-time.Second))
	}
	for _, it := range sub.SubscriptionItems {
		out.SubscriptionItems = append(out.SubscriptionItems, webhook.SubscriptionItem{
			ItemPriceID: it.ID, ItemType: it.ItemType, Quantity: it.Quantity, UnitPrice: it.UnitPrice, Amount: it.Amount,
		})
		if it.ItemType == webhook.ItemPlan && out.PlanID == "" {
			out.PlanID, out.PlanQuantity, out.PlanUnitPrice, out.PlanAmount = it.ID, it.Quantity, it.UnitPrice, it.Amount
			out.PlanFreeQuantity = it.FreeQuantity
		}
	}
	return out
}
