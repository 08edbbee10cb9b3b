package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// A complete receiver: verified deliveries, one function per event type, each
// message once and each subscription's events in order. Billing's side is played
// by a Signer.
func Example() {
	secret := webhook.NewSecret() // in production: the whsec_ secret Billing gives you

	// The partner's state: what it needs for the API's subscription calls.
	type subscription struct {
		items       []string
		status      webhook.Status
		nextBilling time.Time
	}
	var mu sync.Mutex
	subs := map[string]subscription{}
	onSubscription := func(_ context.Context, ev *webhook.Event) error {
		s := ev.SubscriptionData.Subscription
		var items []string
		for _, it := range s.SubscriptionItems {
			items = append(items, it.ItemPriceID)
		}
		mu.Lock()
		defer mu.Unlock()
		subs[s.ID] = subscription{items, s.Status, s.NextBillingAt.Time()}
		fmt.Printf("%s: %s is %s, next invoice %s\n", ev.Type, s.ID, s.Status, s.NextBillingAt.Time().Format(time.DateOnly))
		return nil
	}

	verifier, err := webhook.NewSignatureVerifier([]string{secret})
	if err != nil {
		log.Fatal(err)
	}
	handler := webhook.NewHandler(verifier,
		webhook.On(webhook.SubscriptionCreated, onSubscription),
		webhook.On(webhook.SubscriptionUpdated, onSubscription),
		webhook.On(webhook.SubscriptionStatusUpdated, onSubscription),
		webhook.On(webhook.PaymentFailed, func(_ context.Context, ev *webhook.Event) error {
			t := ev.PaymentData.Transaction
			fmt.Printf("%s: %.2f EUR for %s: %s\n", ev.Type, t.Amount/100, t.SubscriptionID, t.ErrorCode)
			return nil
		}),
		webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))),
	)
	srv := httptest.NewServer(handler) // in production: http.Handle("/webhooks/billing", handler)
	defer srv.Close()

	// Billing's side: signed deliveries, one of them twice, one late.
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		log.Fatal(err)
	}
	deliver := func(id, body string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader([]byte(body)))
		req.Header = signer.Headers(id, time.Now(), []byte(body))
		res, err := srv.Client().Do(req)
		if err != nil {
			log.Fatal(err)
		}
		res.Body.Close()
		fmt.Println("  ->", res.StatusCode)
	}
	sub := func(typ webhook.Type, status string, next, version int64) string {
		return `{"eventType":"` + string(typ) + `","data":{"shopId":"shop-1","subscription":{"id":"AzZltzSnnXURXasn",` +
			`"status":"` + status + `","next_billing_at":` + strconv.FormatInt(next, 10) + `,"resource_version":` + strconv.FormatInt(version, 10) + `,` +
			`"subscription_items":[{"item_price_id":"builtfor_example-users-EUR-Monthly","item_type":"plan","quantity":1}]}}}`
	}
	deliver("msg_1", sub(webhook.SubscriptionCreated, "in_trial", 1764547200, 1764071100000))
	deliver("msg_1", sub(webhook.SubscriptionCreated, "in_trial", 1764547200, 1764071100000)) // a duplicate
	deliver("msg_3", sub(webhook.SubscriptionStatusUpdated, "active", 1767225600, 1764547200000))
	deliver("msg_2", sub(webhook.SubscriptionUpdated, "in_trial", 1764547200, 1764300000000)) // late: older than msg_3
	deliver("msg_4", `{"eventType":"payment.failed","data":{"transaction":{"id":"txn_1","subscription_id":"AzZltzSnnXURXasn",`+
		`"amount":4900,"status":"failure","error_code":"authentication_required"}}}`)

	mu.Lock()
	defer mu.Unlock()
	s := subs["AzZltzSnnXURXasn"]
	fmt.Println("stored:", s.status, s.items, s.nextBilling.Format(time.DateOnly))
	// Output:
	// subscription.created: AzZltzSnnXURXasn is in_trial, next invoice 2025-12-01
	//   -> 204
	//   -> 200
	// subscription.status-updated: AzZltzSnnXURXasn is active, next invoice 2026-01-01
	//   -> 204
	//   -> 200
	// payment.failed: 49.00 EUR for AzZltzSnnXURXasn: authentication_required
	//   -> 204
	// stored: active [builtfor_example-users-EUR-Monthly] 2026-01-01
}

// Verify is the one-call check, like stripe-go's ConstructEvent.
func ExampleVerify() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"eventType":"customer.updated","data":{"customer":{"id":"b2581e4b","email":"john.doe@example.com"}}}`)

	signer, _ := webhook.NewSigner(secret)
	header := signer.Headers("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Now(), body) // what Billing sends

	ev, err := webhook.Verify(body, header, secret)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.ID, ev.Type, ev.CustomerData.Customer.Email)

	_, err = webhook.Verify(body, header, webhook.NewSecret())
	fmt.Println(err)
	// Output:
	// msg_p5jXN8AQM9LWM0D4loKWxJek customer.updated john.doe@example.com
	// webhook: no valid signature: none of 1 signature(s) matches the 1 secret(s)
}

// During a rotation the verifier takes both secrets, and Billing signs with both.
func ExampleNewSignatureVerifier_rotation() {
	oldSecret, newSecret := webhook.NewSecret(), webhook.NewSecret()
	v, err := webhook.NewSignatureVerifier([]string{oldSecret, newSecret}, webhook.WithTolerance(10*time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	body := []byte(`{"eventType":"ping","data":{}}`)
	for _, secret := range []string{oldSecret, newSecret, webhook.NewSecret()} {
		s, _ := webhook.NewSigner(secret)
		_, err := v.Verify(body, s.Headers("msg_1", time.Now(), body))
		fmt.Println(err == nil)
	}
	// Output:
	// true
	// true
	// false
}
