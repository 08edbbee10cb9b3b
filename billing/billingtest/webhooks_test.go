package billingtest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// partner is the code under test: a webhook endpoint that keeps what it learnt.
type partner struct {
	secret string
	srv    *httptest.Server

	mu       sync.Mutex
	events   []*webhook.Event // processed, in order
	failures map[string]int   // by message id: deliveries to answer 500 before succeeding
	block    chan struct{}    // if set, each delivery waits for it
	subs     map[string]webhook.Subscription
}

func newPartner(t *testing.T, opts ...webhook.VerifierOption) *partner {
	p := &partner{secret: webhook.NewSecret(), subs: map[string]webhook.Subscription{}, failures: map[string]int{}}
	v, err := webhook.NewSignatureVerifier([]string{p.secret}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	h := webhook.NewHandler(v, webhook.OnOther(p.handle),
		webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))))
	p.srv = httptest.NewServer(h)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *partner) handle(ctx context.Context, ev *webhook.Event) error {
	p.mu.Lock()
	block := p.block
	p.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failures[ev.ID] > 0 {
		p.failures[ev.ID]--
		return errors.New("not now")
	}
	p.events = append(p.events, ev)
	if s := ev.Subscription(); s != nil && ev.SubscriptionData != nil {
		p.subs[s.ID] = *s
	}
	return nil
}

// got returns "type entity-id" of the events processed.
func (p *partner) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, ev := range p.events {
		e, _ := ev.Entity()
		out = append(out, string(ev.Type)+" "+e.ID)
	}
	return out
}

func (p *partner) server(t *testing.T, opts ...billingtest.Option) *billingtest.Server {
	return newServer(t, append([]billingtest.Option{billingtest.WithWebhook(p.srv.URL, p.secret)}, opts...)...)
}

func flush(t *testing.T, srv *billingtest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := srv.FlushWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
}

// Change through the API -> event received and verified -> the partner's state.
func TestWebhooksEndToEnd(t *testing.T) {
	p := newPartner(t)
	srv := p.server(t)
	c := fullClient(t, srv)
	ctx := t.Context()
	const sub = billingtest.SubscriptionID

	res, err := c.UpdateSubscriptionWithResponse(ctx, sub, gen.SubscriptionUpdateInput{SubscriptionItemID: billingtest.StandardYearlyPlanID})
	if err != nil || res.JSON200 == nil {
		t.Fatalf("update: %v", err)
	}
	if _, err := c.SetSubscriptionItemQuantityWithResponse(ctx, sub, billingtest.UsersPlanID, gen.QuantityInput{Quantity: 8}); err != nil {
		t.Fatal(err)
	}
	// The same quantity again changes nothing: no event.
	if _, err := c.SetSubscriptionItemQuantityWithResponse(ctx, sub, billingtest.UsersPlanID, gen.QuantityInput{Quantity: 8}); err != nil {
		t.Fatal(err)
	}
	// Usage and charges at term are no subscription change: no event.
	if _, err := c.SetSubscriptionItemUsageWithResponse(ctx, sub, billingtest.APICallsAddonID, gen.UsageInput{UsageQuantity: 5}); err != nil {
		t.Fatal(err)
	}
	inv, err := srv.CloseBillingPeriod(sub, false)
	if err != nil {
		t.Fatal(err)
	}
	cust, err := c.AddCustomerWithResponse(ctx, gen.AddCustomerJSONRequestBody{ID: srv.ClientID, Email: "new@example.com", Locale: gen.En, Type: gen.User})
	if err != nil || cust.JSON201 == nil {
		t.Fatalf("add customer: %v %s", err, cust.Body)
	}
	newSub := gen.Subscription{ID: "sub_new", ProductID: billingtest.ProductID, ShopID: srv.ClientID, Status: "in_trial",
		CurrencyCode: "EUR", BillingPeriodUnit: string(gen.PeriodUnitMonth), SubscriptionItems: []gen.SubscriptionItem{
			{ID: billingtest.StandardMonthlyPlanID, GroupID: "builtfor_example-standard", ItemType: "plan", Quantity: 1.0}}}
	if err := srv.CreateSubscription(newSub, false); err != nil {
		t.Fatal(err)
	}
	flush(t, srv)

	want := []string{
		"subscription.updated " + sub,
		"subscription.updated " + sub,
		"subscription.updated " + sub,
		"payment.succeeded txn_" + inv.InvoiceID,
		"customer.created " + srv.ClientID,
		"subscription.created sub_new",
	}
	if diff := cmp.Diff(want, p.got()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	// What the partner knows is what the API says.
	stored, _ := srv.Subscription(sub, false)
	known := p.subs[sub]
	if v, _ := strconv.ParseInt(stored.ResourceVersion, 10, 64); webhook.Version(v) != known.ResourceVersion {
		t.Errorf("version %d, want %s", known.ResourceVersion, stored.ResourceVersion)
	}
	if got, want := float64(known.NextBillingAt), stored.NextRenewalAt; got != want || want != float64(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).Unix()) {
		t.Errorf("next_billing_at %g, want %g (a year after the renewal)", got, want)
	}
	var items []webhook.SubscriptionItem
	for _, it := range known.SubscriptionItems {
		items = append(items, webhook.SubscriptionItem{ItemPriceID: it.ItemPriceID, ItemType: it.ItemType, Quantity: it.Quantity})
	}
	if diff := cmp.Diff([]webhook.SubscriptionItem{
		{ItemPriceID: billingtest.StandardYearlyPlanID, ItemType: "plan", Quantity: 1},
		{ItemPriceID: billingtest.UsersPlanID, ItemType: "plan", Quantity: 8},
		{ItemPriceID: billingtest.APICallsAddonID, ItemType: "addon"},
	}, items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	if known.PlanID != billingtest.StandardYearlyPlanID || known.MetaData.Module != billingtest.ProductID || known.Status != webhook.StatusActive {
		t.Errorf("subscription %s %s %s", known.PlanID, known.MetaData.Module, known.Status)
	}

	p.mu.Lock()
	pay := p.events[3].PaymentData
	created := p.events[4].CustomerData.Customer
	p.mu.Unlock()
	if tx := pay.Transaction; tx.Amount != inv.AmountTotal || tx.Status != webhook.TransactionSuccess ||
		tx.LinkedInvoices[0].InvoiceID != inv.InvoiceID || float64(tx.Date) != inv.InvoiceDate {
		t.Errorf("transaction %+v, want invoice %s of %g", tx, inv.InvoiceID, inv.AmountTotal)
	}
	if pay.ModuleID != billingtest.ProductID || pay.Customer.BillingAddress == nil || pay.Customer.BillingAddress.Country != "FR" {
		t.Errorf("payment module %q customer %+v", pay.ModuleID, pay.Customer)
	}
	if created.Email != "new@example.com" || created.ResourceVersion == 0 {
		t.Errorf("created customer %+v", created)
	}
	for _, d := range srv.WebhookDeliveries() {
		if d.Attempt != 1 || d.Status != http.StatusNoContent {
			t.Errorf("delivery %+v, want one 204 each", d)
		}
	}
}

// The sandbox store's changes send webhooks too.
func TestWebhooksSandbox(t *testing.T) {
	p := newPartner(t)
	srv := p.server(t)
	if _, err := srv.CloseBillingPeriod(billingtest.SubscriptionID, true); err != nil {
		t.Fatal(err)
	}
	flush(t, srv)
	if diff := cmp.Diff([]string{"subscription.updated " + billingtest.SubscriptionID, "payment.succeeded txn_INV-2026-00013"}, p.got()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// A failed delivery is retried on the compressed schedule until it succeeds.
func TestWebhooksRetry(t *testing.T) {
	p := newPartner(t)
	p.failures["msg_000001"] = 2
	srv := p.server(t)
	if _, err := srv.CloseBillingPeriod(billingtest.SubscriptionID, false); err != nil {
		t.Fatal(err)
	}
	flush(t, srv)
	var got []string
	for _, d := range srv.WebhookDeliveries() {
		got = append(got, d.MessageID+" "+strconv.Itoa(d.Attempt)+" "+strconv.Itoa(d.Status))
	}
	// msg_000002 may go before msg_000001's retries or between them: compare per message.
	perMessage := map[string][]string{}
	for _, g := range got {
		perMessage[g[:10]] = append(perMessage[g[:10]], g)
	}
	if diff := cmp.Diff(map[string][]string{
		"msg_000001": {"msg_000001 1 500", "msg_000001 2 500", "msg_000001 3 204"},
		"msg_000002": {"msg_000002 1 204"},
	}, perMessage); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	if len(p.got()) != 2 {
		t.Errorf("processed %v", p.got())
	}
}

// An endpoint that never answers 2xx gets the first attempt and 8 retries.
func TestWebhooksGiveUp(t *testing.T) {
	for _, tt := range []struct {
		name    string
		opts    []billingtest.Option
		retries []time.Duration
		want    int
	}{
		{"Billing's schedule, compressed", nil, nil, 9},
		{"no retry", []billingtest.Option{billingtest.WithWebhookRetries()}, nil, 1},
		{"two retries, before WithWebhook", nil, []time.Duration{time.Millisecond, 2 * time.Millisecond}, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				calls++
				mu.Unlock()
				http.Error(w, "down", http.StatusServiceUnavailable)
			}))
			defer down.Close()
			opts := tt.opts
			if tt.retries != nil {
				opts = append(opts, billingtest.WithWebhookRetries(tt.retries...))
			}
			opts = append(opts, billingtest.WithWebhook(down.URL, webhook.NewSecret()))
			srv := newServer(t, opts...)
			if err := srv.CreateSubscription(gen.Subscription{ID: "s", Status: "active"}, false); err != nil {
				t.Fatal(err)
			}
			flush(t, srv)
			mu.Lock()
			defer mu.Unlock()
			if calls != tt.want || len(srv.WebhookDeliveries()) != tt.want {
				t.Errorf("%d calls, %d deliveries; want %d", calls, len(srv.WebhookDeliveries()), tt.want)
			}
		})
	}
	if got := billingtest.BillingRetrySchedule(); len(got) != 8 || got[1] != 5*time.Second || got[7] != 10*time.Hour {
		t.Errorf("schedule %v", got)
	}
}

// A duplicate delivery (same message id) is skipped by the partner's Tracker.
func TestWebhooksDuplicate(t *testing.T) {
	p := newPartner(t)
	srv := p.server(t)
	srv.WebhookFault(billingtest.WebhookDuplicate)
	if err := srv.CreateSubscription(gen.Subscription{ID: "s", Status: "active"}, false); err != nil {
		t.Fatal(err)
	}
	flush(t, srv)
	if diff := cmp.Diff([]billingtest.WebhookDelivery{
		{MessageID: "msg_000001", Type: webhook.SubscriptionCreated, Attempt: 1, Status: 204},
		{MessageID: "msg_000001", Type: webhook.SubscriptionCreated, Attempt: 2, Status: 200}, // the Tracker: a duplicate
	}, srv.WebhookDeliveries()); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	if got := p.got(); len(got) != 1 {
		t.Errorf("processed %v, want once", got)
	}
}

// Two changes delivered in reverse order: the late, older one is stale.
func TestWebhooksSwap(t *testing.T) {
	p := newPartner(t)
	srv := p.server(t)
	c := fullClient(t, srv)
	srv.WebhookFault(billingtest.WebhookSwap)
	for _, q := range []float64{8, 9} {
		if _, err := c.SetSubscriptionItemQuantityWithResponse(t.Context(), billingtest.SubscriptionID, billingtest.UsersPlanID,
			gen.QuantityInput{Quantity: q}); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, srv)
	var order []string
	for _, d := range srv.WebhookDeliveries() {
		order = append(order, d.MessageID+" "+strconv.Itoa(d.Status))
	}
	if diff := cmp.Diff([]string{"msg_000002 204", "msg_000001 200"}, order); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	known := p.subs[billingtest.SubscriptionID]
	it, _ := known.Item(billingtest.UsersPlanID)
	if it.Quantity != 9 {
		t.Errorf("partner's quantity %g, want 9: the late event overwrote the newer one", it.Quantity)
	}

	// A message held alone is released by FlushWebhooks.
	srv.WebhookFault(billingtest.WebhookSwap)
	if err := srv.CreateSubscription(gen.Subscription{ID: "s", Status: "active"}, false); err != nil {
		t.Fatal(err)
	}
	flush(t, srv)
	if n := len(srv.WebhookDeliveries()); n != 3 {
		t.Errorf("%d deliveries, want 3", n)
	}
}

// API calls never wait for deliveries; Close ends the delivery in flight.
func TestWebhooksAsync(t *testing.T) {
	p := newPartner(t)
	p.block = make(chan struct{})
	srv := p.server(t)
	c := fullClient(t, srv)
	for _, q := range []float64{2, 3, 4} {
		// The partner's handler is stuck: the calls return anyway.
		if _, err := c.SetSubscriptionItemQuantityWithResponse(t.Context(), billingtest.SubscriptionID, billingtest.UsersPlanID,
			gen.QuantityInput{Quantity: q}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := srv.FlushWebhooks(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("FlushWebhooks: %v, want context.Canceled", err)
	}
	close(p.block)
	flush(t, srv)
	if n := len(p.got()); n != 3 {
		t.Errorf("processed %d, want 3", n)
	}

	// Close with a delivery stuck in the partner's handler returns.
	p.mu.Lock()
	p.block = make(chan struct{})
	p.mu.Unlock()
	if _, err := c.SetSubscriptionItemQuantityWithResponse(t.Context(), billingtest.SubscriptionID, billingtest.UsersPlanID,
		gen.QuantityInput{Quantity: 5}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if err := srv.FlushWebhooks(t.Context()); err == nil {
		t.Error("FlushWebhooks after Close: no error")
	}
	close(p.block)
}

// Deliveries are signed with the server's clock.
func TestWebhooksClock(t *testing.T) {
	at := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	fixed := func() time.Time { return at }
	p := newPartner(t, webhook.WithClock(fixed))
	srv := p.server(t, billingtest.WithClock(fixed))
	if err := srv.CreateSubscription(gen.Subscription{ID: "s", Status: "active"}, false); err != nil {
		t.Fatal(err)
	}
	flush(t, srv)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.events) != 1 || !p.events[0].Timestamp.Equal(at) {
		t.Fatalf("events %v", p.events)
	}
	if v := p.events[0].SubscriptionData.Subscription.ResourceVersion; v != webhook.Version(at.UnixMilli()) {
		t.Errorf("resource_version %d, want the clock's %d", v, at.UnixMilli())
	}

	// A partner on another clock refuses them (401) until Billing gives up.
	other := newPartner(t)
	srv2 := other.server(t, billingtest.WithClock(fixed), billingtest.WithWebhookRetries())
	if err := srv2.CreateSubscription(gen.Subscription{ID: "s", Status: "active"}, false); err != nil {
		t.Fatal(err)
	}
	flush(t, srv2)
	if d := srv2.WebhookDeliveries(); len(d) != 1 || d[0].Status != http.StatusUnauthorized {
		t.Errorf("deliveries %+v, want one 401", d)
	}
}

func TestWebhooksOff(t *testing.T) {
	srv := newServer(t)
	if err := srv.FlushWebhooks(t.Context()); err != nil {
		t.Error(err)
	}
	if srv.WebhookDeliveries() != nil {
		t.Error("deliveries without WithWebhook")
	}
	if err := srv.CreateSubscription(gen.Subscription{ID: billingtest.SubscriptionID}, false); err == nil {
		t.Error("CreateSubscription took an existing id")
	}
	if err := srv.CreateSubscription(gen.Subscription{}, true); err == nil {
		t.Error("CreateSubscription took an empty id")
	}
	if err := srv.CreateSubscription(gen.Subscription{ID: "s", ResourceVersion: "7"}, true); err != nil {
		t.Fatal(err)
	}
	if s, ok := srv.Subscription("s", true); !ok || s.ResourceVersion != "7" {
		t.Errorf("created %+v", s)
	}
	if _, ok := srv.Subscription("s", false); ok {
		t.Error("created in the sandbox store, found in the live one")
	}
	for name, f := range map[string]func(){
		"WebhookFault without WithWebhook": func() { srv.WebhookFault(billingtest.WebhookDuplicate) },
		"unknown WebhookFault":             func() { srv.WebhookFault(0) },
		"invalid secret":                   func() { billingtest.WithWebhook("http://127.0.0.1:1", "whsec_!") },
		"retries without WithWebhook":      func() { billingtest.NewServer(billingtest.WithWebhookRetries()) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
