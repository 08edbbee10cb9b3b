package contract_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// ids are the identifiers the calls use: any valid ones for a Prism mock, the
// seeded ones for billingtest.
type ids struct {
	product, customer, plan string
	subscription            string
	quantityItem, usageItem string
	invoice                 string
	quantity                float64 // set by setSubscriptionItemQuantity (7 if 0)
}

// mockIDs are the spec's example identifiers.
var mockIDs = ids{
	product:      "builtfor_example",
	customer:     "3f1c9a2e-6f0b-4a8e-9d55-2a1d0c7e4b11",
	plan:         "builtfor_example-standard-EUR-Yearly",
	subscription: "AzZltzSnnXURXasn",
	quantityItem: "builtfor_example-users-EUR-Monthly",
	usageItem:    "builtfor_example-api-calls-EUR-Monthly",
	invoice:      "INV-2026-00042",
}

// operation is one operation called through billing.Client. call returns the
// decoded 2xx body (a pointer to the generated type).
type operation struct {
	id   string
	call func(ctx context.Context, c *billing.Client) (any, error)
}

// operations returns the 9 operations of the spec, called with valid requests.
// Every call of billing.Client in these tests is here, in one place.
func operations(id ids) []operation {
	return []operation{
		{"getProductComponents", func(ctx context.Context, c *billing.Client) (any, error) {
			r, err := c.GetProductComponentsWithResponse(ctx, id.product, nil)
			if err != nil {
				return nil, err
			}
			return ok(r, r.JSON200)
		}},
		{"addCustomer", func(ctx context.Context, c *billing.Client) (any, error) {
			r, err := c.AddCustomerWithResponse(ctx, nil, gen.CustomerInput{
				Id: id.customer, Email: "merchant@example.com", Locale: gen.Fr, Type: gen.User,
			})
			if err != nil {
				return nil, err
			}
			return ok(r, r.JSON201)
		}},
		{"addSubscriptionEstimateForCustomer", func(ctx context.Context, c *billing.Client) (any, error) {
			r, err := c.AddSubscriptionEstimateForCustomerWithResponse(ctx, nil, gen.EstimateInput{
				ComponentId: id.plan, CustomerId: id.customer, ProductId: id.product,
			})
			if err != nil {
				return nil, err
			}
			return ok(r, r.JSON201)
		}},
		{"addSubscriptionChargeAtTerm", func(ctx context.Context, c *billing.Client) (any, error) {
			r, err := c.AddSubscriptionChargeAtTermWithResponse(ctx, id.subscription, nil, gen.ChargeAtTermInput{
				Amount: 1500, Description: "Onboarding session (1 h)",
			})
			if err != nil {
				return nil, err
			}
			return ok(r, r.JSON201)
		}},
		{"setSubscriptionItemQuantity", func(ctx context.Context, c *billing.Client) (any, error) {
			q := id.quantity
			if q == 0 {
				q = 7
			}
			r, err := c.SetSubscriptionItemQuantityWithResponse(ctx, id.subscription, id.quantityItem, nil, gen.QuantityInput{Quantity: q})
			if err != nil {
				return nil, err
			}
			return ok(r, r.JSON200)
		}},
		{"setSubscriptionItemUsage", func(ctx context.Context, c *billing.Client) (any, error) {
			r, err := c.SetSubscriptionItemUsageWithResponse(ctx, id.subscription, id.usageItem, nil, gen.UsageInput{UsageQuantity: 250})
			if err != nil {
				return nil, err
			}
			return ok(r, r.JSON201)
		}},
		{"updateSubscription", func(ctx context.Context, c *billing.Client) (any, error) {
			r, err := c.UpdateSubscriptionWithResponse(ctx, id.subscription, nil, gen.SubscriptionUpdateInput{SubscriptionItemId: id.plan})
			if err != nil {
				return nil, err
			}
			return ok(r, r.JSON200)
		}},
		{"getInvoices", func(ctx context.Context, c *billing.Client) (any, error) {
			r, err := c.GetInvoicesWithResponse(ctx, &gen.GetInvoicesParams{Id: id.subscription, Type: "subscription", Limit: 10})
			if err != nil {
				return nil, err
			}
			return ok(r, r.JSON200)
		}},
		{"getInvoiceDownload", func(ctx context.Context, c *billing.Client) (any, error) {
			r, err := c.GetInvoiceDownloadWithResponse(ctx, id.invoice, nil)
			if err != nil {
				return nil, err
			}
			return ok(r, r.JSON200)
		}},
	}
}

// operationOf returns the operation opID of operations(id).
func operationOf(id ids, opID string) operation {
	for _, op := range operations(id) {
		if op.id == opID {
			return op
		}
	}
	panic("contract: no operation " + opID)
}

// ok returns the decoded 2xx body of a successful call. No body would be a bug
// of billing.Client (a nil error promises the 2xx field is set).
func ok[R any, B any](resp *R, body *B) (any, error) {
	if body == nil {
		return nil, fmt.Errorf("nil error but no 2xx body in %T", resp)
	}
	return body, nil
}

// offSpecCall is a request that breaks the spec, sent with the SDK's own checks
// off (never a truncated body: Prism never answers one).
type offSpecCall struct {
	name, op string
	call     func(ctx context.Context, c *billing.Client) error
	field    string // what Prism's sl-violations must name
}

var offSpecCalls = []offSpecCall{
	{"usage 0", "setSubscriptionItemUsage", func(ctx context.Context, c *billing.Client) error {
		_, err := c.SetSubscriptionItemUsageWithResponse(ctx, mockIDs.subscription, mockIDs.usageItem, nil, gen.UsageInput{UsageQuantity: 0})
		return err
	}, "usageQuantity"},
	{"quantity -1", "setSubscriptionItemQuantity", func(ctx context.Context, c *billing.Client) error {
		_, err := c.SetSubscriptionItemQuantityWithResponse(ctx, mockIDs.subscription, mockIDs.quantityItem, nil, gen.QuantityInput{Quantity: -1})
		return err
	}, "quantity"},
	{"negative charge", "addSubscriptionChargeAtTerm", func(ctx context.Context, c *billing.Client) error {
		_, err := c.AddSubscriptionChargeAtTermWithResponse(ctx, mockIDs.subscription, nil, gen.ChargeAtTermInput{Amount: -100, Description: "x"})
		return err
	}, "amount"},
	{"charge without description", "addSubscriptionChargeAtTerm", func(ctx context.Context, c *billing.Client) error {
		_, err := c.AddSubscriptionChargeAtTermWithResponse(ctx, mockIDs.subscription, nil, gen.ChargeAtTermInput{Amount: 100})
		return err
	}, "description"},
	{"locale outside the enum", "addCustomer", func(ctx context.Context, c *billing.Client) error {
		_, err := c.AddCustomerWithResponse(ctx, nil, gen.CustomerInput{Id: "u", Email: "a@example.com", Locale: "xx", Type: gen.User})
		return err
	}, "locale"},
	{"estimate without component", "addSubscriptionEstimateForCustomer", func(ctx context.Context, c *billing.Client) error {
		_, err := c.AddSubscriptionEstimateForCustomerWithResponse(ctx, nil, gen.EstimateInput{CustomerId: "u", ProductId: "p"})
		return err
	}, "componentId"},
	{"invoices of an empty id", "getInvoices", func(ctx context.Context, c *billing.Client) error {
		_, err := c.GetInvoicesWithResponse(ctx, &gen.GetInvoicesParams{Type: "subscription", Limit: 1})
		return err
	}, "id"},
	{"filter outside the enum", "getProductComponents", func(ctx context.Context, c *billing.Client) error {
		bad := gen.ComponentStatus("gone")
		_, err := c.GetProductComponentsWithResponse(ctx, mockIDs.product, &gen.GetProductComponentsParams{FilterStatus: &bad})
		return err
	}, "filter_status"},
}

// components checks that each component of a list decodes to the type its
// componentType names (plan: gen.Plan; addon, charge: gen.Addon) and keeps it,
// and counts them by componentType in seen.
func components(list *gen.ComponentList, seen map[string]int) error {
	for i, item := range list.Items {
		raw, err := item.MarshalJSON()
		if err != nil {
			return fmt.Errorf("component %d: %w", i, err)
		}
		var probe struct {
			ComponentType string `json:"componentType"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return fmt.Errorf("component %d: %w", i, err)
		}
		v, err := item.ValueByDiscriminator()
		if err != nil {
			return fmt.Errorf("component %d (componentType %q): %w", i, probe.ComponentType, err)
		}
		var got string
		switch c := v.(type) {
		case gen.Plan:
			if probe.ComponentType != "plan" || c.ComponentType != gen.PlanComponentTypePlan {
				return fmt.Errorf("component %d: componentType %q decoded as a Plan (%q)", i, probe.ComponentType, c.ComponentType)
			}
			got = string(c.ComponentType)
		case gen.Addon:
			if probe.ComponentType != "addon" && probe.ComponentType != "charge" || string(c.ComponentType) != probe.ComponentType {
				return fmt.Errorf("component %d: componentType %q decoded as an Addon (%q)", i, probe.ComponentType, c.ComponentType)
			}
			got = string(c.ComponentType)
		default:
			return fmt.Errorf("component %d: componentType %q decoded as %T", i, probe.ComponentType, v)
		}
		seen[got]++
	}
	return nil
}
