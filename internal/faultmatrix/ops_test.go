package faultmatrix

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// operation is one operation of the API as the matrix calls it, against the
// default seed of billingtest.
type operation struct {
	id         string // operationId
	short      string // column name of the table
	idempotent bool
	okStatus   int    // the 2xx status of its answer
	path       string // request path and query, for redirect targets
	call       func(ctx context.Context, c *billing.Client, opts ...billing.RequestEditorFn) error
	// state checks the server's state against the number of applied calls;
	// it returns what is wrong, or "".
	state func(srv *billingtest.Server, applied int) string
}

const (
	sub     = billingtest.SubscriptionID
	users   = billingtest.UsersPlanID
	calls   = billingtest.APICallsAddonID
	invoice = "INV-2025-00001"
)

// operations are the 9 operations of the spec. The lines of make faults follow
// this order.
var operations = []operation{
	{
		id: "getProductComponents", short: "components", idempotent: true, okStatus: http.StatusOK,
		path: "/v1/products/" + billingtest.ProductID + "/components",
		call: func(ctx context.Context, c *billing.Client, opts ...billing.RequestEditorFn) error {
			_, err := c.GetProductComponents(ctx, billingtest.ProductID, gen.GetProductComponentsParams{}, opts...)
			return err
		},
	},
	{
		id: "addCustomer", short: "customer", okStatus: http.StatusCreated,
		path: "/v1/customers",
		call: func(ctx context.Context, c *billing.Client, opts ...billing.RequestEditorFn) error {
			// The id must be the token's subject: the client id.
			_, err := c.AddCustomer(ctx, gen.CustomerInput{ID: billingtest.DefaultClientID, Email: "partner@example.com", Locale: gen.Fr, Type: gen.User}, opts...)
			return err
		},
		state: func(srv *billingtest.Server, applied int) string {
			if _, ok := srv.Customer(billingtest.DefaultClientID, false); ok != (applied > 0) {
				return fmt.Sprintf("customer exists: %v, applied %d", ok, applied)
			}
			return ""
		},
	},
	{
		id: "addSubscriptionEstimateForCustomer", short: "estimate", idempotent: true, okStatus: http.StatusCreated,
		path: "/v1/estimates",
		call: func(ctx context.Context, c *billing.Client, opts ...billing.RequestEditorFn) error {
			_, err := c.AddSubscriptionEstimateForCustomer(ctx, gen.EstimateInput{
				ComponentID: billingtest.StandardYearlyPlanID, CustomerID: billingtest.CustomerID,
				ProductID: billingtest.ProductID, SubscriptionID: sub,
			}, opts...)
			return err
		},
	},
	{
		id: "addSubscriptionChargeAtTerm", short: "charge", okStatus: http.StatusCreated,
		path: "/v1/subscriptions/" + sub + "/charge_at_term",
		call: func(ctx context.Context, c *billing.Client, opts ...billing.RequestEditorFn) error {
			_, err := c.AddSubscriptionChargeAtTerm(ctx, sub, gen.ChargeAtTermInput{Amount: 500, Description: "Onboarding"}, opts...)
			return err
		},
		state: func(srv *billingtest.Server, applied int) string {
			if n := len(srv.PendingCharges(sub, false)); n != applied {
				return fmt.Sprintf("%d pending charges, applied %d", n, applied)
			}
			return ""
		},
	},
	{
		id: "setSubscriptionItemQuantity", short: "quantity", idempotent: true, okStatus: http.StatusOK,
		path: "/v1/subscriptions/" + sub + "/items/" + users + "/quantity",
		call: func(ctx context.Context, c *billing.Client, opts ...billing.RequestEditorFn) error {
			_, err := c.SetSubscriptionItemQuantity(ctx, sub, users, gen.QuantityInput{Quantity: 7}, opts...)
			return err
		},
		state: func(srv *billingtest.Server, applied int) string {
			want := 1.0 // the seed's
			if applied > 0 {
				want = 7
			}
			s, _ := srv.Subscription(sub, false)
			for _, it := range s.SubscriptionItems {
				if it.ID == users && it.Quantity != want {
					return fmt.Sprintf("quantity %v, want %v (applied %d)", it.Quantity, want, applied)
				}
			}
			return ""
		},
	},
	{
		id: "setSubscriptionItemUsage", short: "usage", okStatus: http.StatusCreated,
		path: "/v1/subscriptions/" + sub + "/items/" + calls + "/usage",
		call: func(ctx context.Context, c *billing.Client, opts ...billing.RequestEditorFn) error {
			_, err := c.SetSubscriptionItemUsage(ctx, sub, calls, gen.UsageInput{UsageQuantity: 10}, opts...)
			return err
		},
		state: func(srv *billingtest.Server, applied int) string {
			if u := srv.Usage(sub, calls, false); u != float64(10*applied) {
				return fmt.Sprintf("usage %v, applied %d × 10", u, applied)
			}
			return ""
		},
	},
	{
		id: "updateSubscription", short: "update", idempotent: true, okStatus: http.StatusOK,
		path: "/v1/subscriptions/" + sub,
		call: func(ctx context.Context, c *billing.Client, opts ...billing.RequestEditorFn) error {
			_, err := c.UpdateSubscription(ctx, sub, gen.SubscriptionUpdateInput{SubscriptionItemID: billingtest.StandardYearlyPlanID}, opts...)
			return err
		},
		state: func(srv *billingtest.Server, applied int) string {
			s, _ := srv.Subscription(sub, false)
			if yearly := s.BillingPeriodUnit == string(gen.PeriodUnitYear); yearly != (applied > 0) {
				return fmt.Sprintf("billing period %s, applied %d", s.BillingPeriodUnit, applied)
			}
			return ""
		},
	},
	{
		id: "getInvoices", short: "invoices", idempotent: true, okStatus: http.StatusOK,
		path: "/v1/invoices?id=" + sub + "&limit=5&offset=0&type=subscription",
		call: func(ctx context.Context, c *billing.Client, opts ...billing.RequestEditorFn) error {
			_, err := c.GetInvoices(ctx, gen.GetInvoicesParams{ID: sub, Type: "subscription", Limit: 5}, opts...)
			return err
		},
	},
	{
		id: "getInvoiceDownload", short: "download", idempotent: true, okStatus: http.StatusOK,
		path: "/v1/invoices/" + invoice + "/download",
		call: func(ctx context.Context, c *billing.Client, opts ...billing.RequestEditorFn) error {
			_, err := c.GetInvoiceDownload(ctx, invoice, opts...)
			return err
		},
	},
}
