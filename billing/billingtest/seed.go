package billingtest

import (
	"fmt"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// Identifiers of DefaultSeed.
const (
	ProductID             = "builtfor_example"
	StandardMonthlyPlanID = "builtfor_example-standard-EUR-Monthly"  // flat_fee, month, 1999
	StandardYearlyPlanID  = "builtfor_example-standard-EUR-Yearly"   // flat_fee, year, 19990
	UsersPlanID           = "builtfor_example-users-EUR-Monthly"     // stairstep, month: 1-5 4900, 6-10 8900, 11+ 14900
	APICallsAddonID       = "builtfor_example-api-calls-EUR-Monthly" // per_unit, metered, 2 per call
	SubscriptionID        = "AzZltzSnnXURXasn"
	ShopID                = "6f3e2a8c-1b7d-4c59-a0e4-7d2b9c1f5e30"
	CustomerID            = ShopID
	CustomerEmail         = "merchant@example.com"
)

// Seed is the data a store starts with. Each plan and addon belongs to the
// product its ProductID names; a product exists when it has a component.
// Subscription items name components by id (the item id is the component id).
// A plan's componentType is always written "plan", an addon's "addon" unless it
// says "charge".
type Seed struct {
	Plans         []gen.Plan
	Addons        []gen.Addon
	Customers     []gen.Customer
	Subscriptions []gen.Subscription
	Invoices      []gen.Invoice
}

// DefaultSeed returns the data a Server starts with unless WithSeed replaces it:
//
//   - product ProductID with the plans StandardMonthlyPlanID,
//     StandardYearlyPlanID, UsersPlanID and the metered addon APICallsAddonID;
//   - customer CustomerID (CustomerEmail, fr, billing address in France);
//   - subscription SubscriptionID of shop ShopID, active, monthly, activated on
//     2024-12-01, renewing on 2026-01-01, with the items StandardMonthlyPlanID,
//     UsersPlanID (quantity 1) and APICallsAddonID (usage 0);
//   - twelve paid invoices of that subscription, INV-2025-00001 to
//     INV-2025-00012, dated the first of each month of 2025, each with a plan,
//     a users and an API-calls line (250×n calls) and 20% tax.
//
// Callers may change the result and pass it to WithSeed.
func DefaultSeed() Seed {
	standard := func(id string, unit gen.PeriodUnit, price float64) gen.Plan {
		return gen.Plan{
			ID: id, ProductID: ProductID, ComponentGroupID: "builtfor_example-standard",
			ComponentType: gen.PlanComponentTypePlan, PricingModel: gen.FlatFee, Status: gen.ComponentStatusActive,
			BillingPeriodUnit: unit, Price: price, TrialPeriodUnit: ptr(gen.TrialPeriodUnitDay), TrialPeriodValue: 30.0,
			Details: &gen.PlanDetails{Title: "Standard", Features: []string{"Unlimited products", "Email support"}},
		}
	}
	s := Seed{
		Plans: []gen.Plan{
			standard(StandardMonthlyPlanID, gen.PeriodUnitMonth, 1999),
			standard(StandardYearlyPlanID, gen.PeriodUnitYear, 19990),
			{
				ID: UsersPlanID, ProductID: ProductID, ComponentGroupID: "builtfor_example-users",
				ComponentType: gen.PlanComponentTypePlan, PricingModel: gen.Stairstep, Status: gen.ComponentStatusActive,
				BillingPeriodUnit: gen.PeriodUnitMonth,
				Tiers: []gen.Tier{
					{StartingUnit: 1, EndingUnit: 5.0, Price: 4900},
					{StartingUnit: 6, EndingUnit: 10.0, Price: 8900},
					{StartingUnit: 11, Price: 14900},
				},
				Details: &gen.PlanDetails{Title: "Users", Features: []string{"Back-office accounts"}},
			},
		},
		Addons: []gen.Addon{
			{
				ID: APICallsAddonID, ProductID: ProductID, ComponentGroupID: "builtfor_example-api-calls",
				ComponentType: gen.AddonComponentTypeAddon, PricingModel: gen.PerUnit, Status: gen.ComponentStatusActive,
				IsUsageBased: true, Price: 2.0,
			},
		},
		Customers: []gen.Customer{{
			ID: CustomerID, Email: CustomerEmail, Locale: gen.Fr, Type: gen.User,
			BillingAddress: &gen.BillingAddress{
				FirstName: "Camille", LastName: "Martin", CompanyName: "Example SAS",
				Line1: "12 rue d'Amsterdam", City: "Paris", Zip: "75009", Country: "FR",
			},
		}},
		Subscriptions: []gen.Subscription{{
			ID: SubscriptionID, ProductID: ProductID, ShopID: ShopID, Status: gen.SubscriptionStatusActive, CurrencyCode: "EUR",
			BillingPeriodUnit:   string(gen.PeriodUnitMonth),
			ResourceVersion:     fmt.Sprint(date(2025, 12).UnixMilli()),
			ActivatedAt:         float64(date(2024, 12).Unix()),
			NextRenewalAt:       float64(date(2026, 1).Unix()),
			HasScheduledChanges: false,
			SubscriptionItems: []gen.SubscriptionItem{
				{ID: StandardMonthlyPlanID, GroupID: "builtfor_example-standard", ItemType: "plan",
					Quantity: 1.0, UnitPrice: 1999.0, Amount: 1999.0, FreeQuantity: 0.0},
				{ID: UsersPlanID, GroupID: "builtfor_example-users", ItemType: "plan",
					Quantity: 1.0, UnitPrice: 4900.0, Amount: 4900.0, FreeQuantity: 0.0},
				{ID: APICallsAddonID, GroupID: "builtfor_example-api-calls", ItemType: "addon",
					UnitPrice: 2.0, Usage: 0.0},
			},
		}},
	}
	for n := 1; n <= 12; n++ {
		id := fmt.Sprintf("INV-2025-%05d", n)
		calls := float64(250 * n)
		s.Invoices = append(s.Invoices, newInvoice(id, ShopID, SubscriptionID, ProductID, date(2025, time.Month(n)), []gen.InvoiceLineItem{
			{EntityType: "plan_item_price", ComponentID: StandardMonthlyPlanID, Description: "Standard (month)", Amount: 1999},
			{EntityType: "plan_item_price", ComponentID: UsersPlanID, Description: "Users × 1", Amount: 4900},
			{EntityType: "addon_item_price", ComponentID: APICallsAddonID, Description: fmt.Sprintf("%s × %g", APICallsAddonID, calls), Amount: 2 * calls},
		}))
	}
	return s
}

func date(year int, month time.Month) time.Time {
	return time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
}

func ptr[T any](v T) *T { return &v }
