package billing_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// A client of the real API needs its credentials; here billingtest stands in for
// the API and its token server, and srv.Client() passes their URLs and credentials.
func Example() {
	srv := billingtest.NewServer()
	defer srv.Close()

	client, err := billing.NewClient(
		billing.WithBaseURL(srv.URL),         // omit for production
		billing.WithTokenURL(srv.TokenURL()), // omit for oauth.prestashop.com
		billing.WithClientCredentials(srv.ClientID, srv.ClientSecret),
		billing.WithSandbox(true),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	res, err := client.GetProductComponents(ctx, "builtfor_example", gen.GetProductComponentsParams{})
	if err != nil {
		log.Fatal(err)
	}
	for _, plan := range res.Plans {
		fmt.Printf("plan  %-40s %s, %s\n", plan.ID, plan.PricingModel, plan.BillingPeriodUnit)
	}
	for _, addon := range res.Addons {
		fmt.Printf("%-5s %-40s %s\n", addon.ComponentType, addon.ID, addon.PricingModel)
	}
	// Output:
	// plan  builtfor_example-standard-EUR-Monthly    flat_fee, month
	// plan  builtfor_example-standard-EUR-Yearly     flat_fee, year
	// plan  builtfor_example-users-EUR-Monthly       stairstep, month
	// addon builtfor_example-api-calls-EUR-Monthly   per_unit
}

// Usage adds up on the server, so a failed call is sent again only when the server
// cannot have acted on it. Otherwise the error wraps ErrOutcomeUnknown.
func ExampleErrOutcomeUnknown() {
	srv := billingtest.NewServer()
	defer srv.Close()
	client := srv.Client()
	// The connection drops after the server counted the usage.
	srv.Fault("setSubscriptionItemUsage", billingtest.Fault{Drop: true, Apply: true})

	_, err := client.SetSubscriptionItemUsage(context.Background(),
		billingtest.SubscriptionID, billingtest.APICallsAddonID, gen.UsageInput{UsageQuantity: 250})
	if errors.Is(err, billing.ErrOutcomeUnknown) {
		fmt.Println("outcome unknown: not sent again")
	}
	fmt.Println("sent:", srv.Requests("setSubscriptionItemUsage"), "usage on the server:",
		srv.Usage(billingtest.SubscriptionID, billingtest.APICallsAddonID, false))
	// Output:
	// outcome unknown: not sent again
	// sent: 1 usage on the server: 250
}

func ExampleAPIError() {
	srv := billingtest.NewServer()
	defer srv.Close()
	client := srv.Client()

	_, err := client.SetSubscriptionItemQuantity(context.Background(),
		"no-such-subscription", billingtest.UsersPlanID, gen.QuantityInput{Quantity: 3})
	var apiErr *billing.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.ErrorCode)
	}
	// Output:
	// 404 SUBSCRIPTION_NOT_FOUND
}

func ExampleInvalidRequestError() {
	srv := billingtest.NewServer()
	defer srv.Close()
	client := srv.Client()

	_, err := client.SetSubscriptionItemUsage(context.Background(),
		billingtest.SubscriptionID, billingtest.APICallsAddonID, gen.UsageInput{UsageQuantity: 0})
	fmt.Println(err)
	fmt.Println("requests sent:", srv.Requests("setSubscriptionItemUsage"))
	// Output:
	// billing: setSubscriptionItemUsage: invalid request, nothing sent: usageQuantity: number must be more than 0
	// requests sent: 0
}

func ExampleClient_Invoices() {
	srv := billingtest.NewServer()
	defer srv.Close()
	client := srv.Client(billing.WithPageSize(5))

	n := 0
	for inv, err := range client.Invoices(context.Background(), billingtest.SubscriptionID) {
		if err != nil {
			log.Fatal(err)
		}
		if n < 2 {
			fmt.Println(inv.InvoiceID, inv.Status, inv.AmountTotal)
		}
		n++
	}
	fmt.Println(n, "invoices in", srv.Requests("getInvoices"), "pages")
	// Output:
	// INV-2025-00012 paid 15479
	// INV-2025-00011 paid 14879
	// 12 invoices in 3 pages
}

func ExampleSandbox() {
	srv := billingtest.NewServer()
	defer srv.Close()
	client := srv.Client() // live by default

	ctx := context.Background()
	sub, item := billingtest.SubscriptionID, billingtest.APICallsAddonID
	_, err := client.SetSubscriptionItemUsage(ctx, sub, item,
		gen.UsageInput{UsageQuantity: 5}, billing.Sandbox(true)) // this call only
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sandbox:", srv.Usage(sub, item, true), "live:", srv.Usage(sub, item, false))
	// Output:
	// sandbox: 5 live: 0
}

// reportAPICalls is partner code under test: it takes a billing.API, not a
// *billing.Client, so that its tests can pass a stub.
func reportAPICalls(ctx context.Context, api billing.API, subscriptionID, itemID string, calls int) error {
	if calls == 0 {
		return nil
	}
	_, err := api.SetSubscriptionItemUsage(ctx, subscriptionID, itemID, gen.UsageInput{UsageQuantity: float64(calls)})
	if errors.Is(err, billing.ErrOutcomeUnknown) {
		return fmt.Errorf("usage of %s may be counted: reconcile before sending it again: %w", subscriptionID, err)
	}
	return err
}

// usageStub stands in for the API in a test: it embeds billing.API (nil), so a
// method it does not override panics if the code under test calls it.
type usageStub struct {
	billing.API
	err  error
	sent []float64
}

func (s *usageStub) SetSubscriptionItemUsage(_ context.Context, _, _ string, body gen.UsageInput, _ ...billing.RequestEditorFn) (*gen.UsageResponse, error) {
	s.sent = append(s.sent, body.UsageQuantity)
	if s.err != nil {
		return nil, s.err
	}
	return &gen.UsageResponse{Item: gen.Usage(body)}, nil
}

// Code that takes a billing.API can be tested with a stub of the one method it
// calls, with no server; billingtest.Server is the fake to use when the test
// should go through the client (tokens, retries, errors).
func ExampleAPI() {
	ctx := context.Background()

	ok := &usageStub{}
	fmt.Println(reportAPICalls(ctx, ok, "sub", "item", 250), ok.sent)

	unknown := &usageStub{err: fmt.Errorf("billing: setSubscriptionItemUsage: %w", billing.ErrOutcomeUnknown)}
	err := reportAPICalls(ctx, unknown, "sub", "item", 250)
	fmt.Println(errors.Is(err, billing.ErrOutcomeUnknown), unknown.sent)
	// Output:
	// <nil> [250]
	// true [250]
}

// A client logging with log/slog: at debug one record per attempt, at info and
// warn the events a partner must see (a 401 replayed, a token renewal that
// failed, a Retry-After beyond the cap, an unknown outcome). No record holds
// the secret, a token or a customer's e-mail address.
func ExampleWithLogger() {
	srv := billingtest.NewServer()
	defer srv.Close()
	srv.Fault("getProductComponents", billingtest.Fault{Status: 503})

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" || a.Key == "error" {
				return slog.Attr{} // left out to keep the output stable
			}
			return a
		},
	}))
	client := srv.Client(billing.WithLogger(logger))

	var info billing.ResponseInfo
	if _, err := client.GetProductComponents(context.Background(), billingtest.ProductID, gen.GetProductComponentsParams{}, billing.RecordResponse(&info)); err != nil {
		log.Fatal(err)
	}
	fmt.Println("answered", info.StatusCode, "after", info.Attempts, "attempts")
	// Output:
	// level=DEBUG msg="billing: attempt" operation=getProductComponents method=GET path=/v1/products/{productId}/components attempt=1 status=503 retried=true error_type=503
	// level=DEBUG msg="billing: attempt" operation=getProductComponents method=GET path=/v1/products/{productId}/components attempt=2 status=200 retried=false
	// answered 200 after 2 attempts
}
