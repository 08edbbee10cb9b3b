package contract_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

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
	q := id.quantity
	if q == 0 {
		q = 7
	}
	return []operation{
		{"getProductComponents", func(ctx context.Context, c *billing.Client) (any, error) {
			return c.GetProductComponents(ctx, id.product, gen.GetProductComponentsParams{})
		}},
		{"addCustomer", func(ctx context.Context, c *billing.Client) (any, error) {
			return c.AddCustomer(ctx, gen.CustomerInput{ID: id.customer, Email: "merchant@example.com", Locale: gen.Fr, Type: gen.User})
		}},
		{"addSubscriptionEstimateForCustomer", func(ctx context.Context, c *billing.Client) (any, error) {
			return c.AddSubscriptionEstimateForCustomer(ctx, gen.EstimateInput{ComponentID: id.plan, CustomerID: id.customer, ProductID: id.product})
		}},
		{"addSubscriptionChargeAtTerm", func(ctx context.Context, c *billing.Client) (any, error) {
			return c.AddSubscriptionChargeAtTerm(ctx, id.subscription, gen.ChargeAtTermInput{Amount: 1500, Description: "Onboarding session (1 h)"})
		}},
		{"setSubscriptionItemQuantity", func(ctx context.Context, c *billing.Client) (any, error) {
			return c.SetSubscriptionItemQuantity(ctx, id.subscription, id.quantityItem, gen.QuantityInput{Quantity: q})
		}},
		{"setSubscriptionItemUsage", func(ctx context.Context, c *billing.Client) (any, error) {
			return c.SetSubscriptionItemUsage(ctx, id.subscription, id.usageItem, gen.UsageInput{UsageQuantity: 250})
		}},
		{"updateSubscription", func(ctx context.Context, c *billing.Client) (any, error) {
			return c.UpdateSubscription(ctx, id.subscription, gen.SubscriptionUpdateInput{SubscriptionItemID: id.plan})
		}},
		{"getInvoices", func(ctx context.Context, c *billing.Client) (any, error) {
			return c.GetInvoices(ctx, gen.GetInvoicesParams{ID: id.subscription, Type: "subscription", Limit: 10})
		}},
		{"getInvoiceDownload", func(ctx context.Context, c *billing.Client) (any, error) {
			return c.GetInvoiceDownload(ctx, id.invoice)
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

// offSpecCall is a request that breaks the spec, sent with the SDK's own checks
// off (never a truncated body: Prism never answers one).
type offSpecCall struct {
	name, op string
	call     func(ctx context.Context, c *billing.Client) error
	field    string // what Prism's sl-violations must name
}

var offSpecCalls = []offSpecCall{
	{"usage 0", "setSubscriptionItemUsage", func(ctx context.Context, c *billing.Client) error {
		_, err := c.SetSubscriptionItemUsage(ctx, mockIDs.subscription, mockIDs.usageItem, gen.UsageInput{UsageQuantity: 0})
		return err
	}, "usageQuantity"},
	{"quantity -1", "setSubscriptionItemQuantity", func(ctx context.Context, c *billing.Client) error {
		_, err := c.SetSubscriptionItemQuantity(ctx, mockIDs.subscription, mockIDs.quantityItem, gen.QuantityInput{Quantity: -1})
		return err
	}, "quantity"},
	{"negative charge", "addSubscriptionChargeAtTerm", func(ctx context.Context, c *billing.Client) error {
		_, err := c.AddSubscriptionChargeAtTerm(ctx, mockIDs.subscription, gen.ChargeAtTermInput{Amount: -100, Description: "x"})
		return err
	}, "amount"},
	{"charge without description", "addSubscriptionChargeAtTerm", func(ctx context.Context, c *billing.Client) error {
		_, err := c.AddSubscriptionChargeAtTerm(ctx, mockIDs.subscription, gen.ChargeAtTermInput{Amount: 100})
		return err
	}, "description"},
	{"locale outside the enum", "addCustomer", func(ctx context.Context, c *billing.Client) error {
		_, err := c.AddCustomer(ctx, gen.CustomerInput{ID: "u", Email: "a@example.com", Locale: "xx", Type: gen.User})
		return err
	}, "locale"},
	{"estimate without component", "addSubscriptionEstimateForCustomer", func(ctx context.Context, c *billing.Client) error {
		_, err := c.AddSubscriptionEstimateForCustomer(ctx, gen.EstimateInput{CustomerID: "u", ProductID: "p"})
		return err
	}, "componentId"},
	{"invoices of an empty id", "getInvoices", func(ctx context.Context, c *billing.Client) error {
		_, err := c.GetInvoices(ctx, gen.GetInvoicesParams{Type: "subscription", Limit: 1})
		return err
	}, "id"},
	{"filter outside the enum", "getProductComponents", func(ctx context.Context, c *billing.Client) error {
		_, err := c.GetProductComponents(ctx, mockIDs.product, gen.GetProductComponentsParams{FilterStatus: "gone"})
		return err
	}, "filter_status"},
}

// components checks a getProductComponents answer against the raw JSON it was
// decoded from: each item is in Plans if its componentType is plan, else in
// Addons (addon, charge), in the answer's order, with its componentType; with
// exact, each decoded component also encodes back to the item's JSON (false for
// random answers, which carry extra properties). It counts the components by
// componentType in seen.
func components(got *billing.Components, raw []byte, exact bool, seen map[string]int) error {
	var answer struct {
		Items []json.RawMessage `json:"items"`
		Total float64           `json:"total"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return err
	}
	if got.Total != answer.Total {
		return fmt.Errorf("total %v, want %v", got.Total, answer.Total)
	}
	plans, addons := got.Plans, got.Addons
	for i, item := range answer.Items {
		var probe struct {
			ComponentType string `json:"componentType"`
		}
		if err := json.Unmarshal(item, &probe); err != nil {
			return fmt.Errorf("component %d: %w", i, err)
		}
		var decoded any
		switch probe.ComponentType {
		case "plan":
			if len(plans) == 0 {
				return fmt.Errorf("component %d (plan) is not among the Plans", i)
			}
			decoded, plans = plans[0], plans[1:]
			if ct := decoded.(gen.Plan).ComponentType; ct != gen.PlanComponentTypePlan {
				return fmt.Errorf("component %d: plan decoded with componentType %q", i, ct)
			}
		case "addon", "charge":
			if len(addons) == 0 {
				return fmt.Errorf("component %d (%s) is not among the Addons", i, probe.ComponentType)
			}
			decoded, addons = addons[0], addons[1:]
			if ct := decoded.(gen.Addon).ComponentType; string(ct) != probe.ComponentType {
				return fmt.Errorf("component %d: %s decoded with componentType %q", i, probe.ComponentType, ct)
			}
		default:
			return fmt.Errorf("component %d: componentType %q outside the spec", i, probe.ComponentType)
		}
		if exact {
			again, err := json.Marshal(decoded)
			if err != nil {
				return err
			}
			if !jsonEqual(item, again) {
				return fmt.Errorf("component %d decoded as %T encodes back to %s, want %s", i, decoded, again, item)
			}
		}
		seen[probe.ComponentType]++
	}
	if len(plans)+len(addons) > 0 {
		return fmt.Errorf("%d plans and %d addons decoded beyond the answer's items", len(plans), len(addons))
	}
	return nil
}

// jsonEqual reports whether a and b are the same JSON value.
func jsonEqual(a, b []byte) bool {
	var va, vb any
	return json.Unmarshal(a, &va) == nil && json.Unmarshal(b, &vb) == nil && reflect.DeepEqual(va, vb)
}
