package billingtest_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// An end-to-end test of a partner's webhook endpoint: a change through the API,
// the event received and verified, the partner's state updated.
func ExampleWithWebhook() {
	// The partner's endpoint.
	secret := webhook.NewSecret()
	verifier, err := webhook.NewSignatureVerifier([]string{secret})
	if err != nil {
		log.Fatal(err)
	}
	quantities := map[string]float64{} // the partner's state: item -> quantity
	endpoint := httptest.NewServer(webhook.NewHandler(verifier,
		webhook.On(webhook.SubscriptionUpdated, func(_ context.Context, ev *webhook.Event) error {
			for _, it := range ev.SubscriptionData.Subscription.SubscriptionItems {
				quantities[it.ItemPriceID] = it.Quantity
			}
			fmt.Println("received", ev.ID, ev.Type, ev.SubscriptionData.Subscription.ID)
			return nil
		}),
		webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))),
	))
	defer endpoint.Close()

	// The fake Billing API, sending its webhooks there; the next one twice.
	srv := billingtest.NewServer(billingtest.WithWebhook(endpoint.URL, secret))
	defer srv.Close()
	srv.WebhookFault(billingtest.WebhookDuplicate)

	ctx := context.Background()
	_, err = srv.Client().SetSubscriptionItemQuantity(ctx, billingtest.SubscriptionID, billingtest.UsersPlanID,
		gen.QuantityInput{Quantity: 8})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.FlushWebhooks(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("users:", quantities[billingtest.UsersPlanID])
	for _, d := range srv.WebhookDeliveries() {
		fmt.Println("delivery", d.MessageID, d.Attempt, d.Status)
	}
	// Output:
	// received msg_000001 subscription.updated AzZltzSnnXURXasn
	// users: 8
	// delivery msg_000001 1 204
	// delivery msg_000001 2 200
}
