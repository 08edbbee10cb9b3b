package billingtest

import (
	"fmt"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
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
// product its ProductId names; a product exists when it has a component.
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
	standardFeatures := []string{"Unlimited products", "Email support"}
	s := Seed{
		Plans: []gen.Plan{
			{
				Id: StandardMonthlyPlanID, ProductId: ProductID, ComponentGroupId: "builtfor_example-standard",
				ComponentType: gen.PlanComponentTypePlan, PricingModel: gen.FlatFee, Status: gen.ComponentStatusActive,
				BillingPeriodUnit: gen.PeriodUnitMonth, Price: ptr(1999.0),
				TrialPeriodUnit: ptr(gen.TrialPeriodUnitDay), TrialPeriodValue: ptr(30.0),
				Details: &gen.PlanDetails{Title: "Standard", Features: standardFeatures},
			},
			{
				Id: StandardYearlyPlanID, ProductId: ProductID, ComponentGroupId: "builtfor_example-standard",
				ComponentType: gen.PlanComponentTypePlan, PricingModel: gen.FlatFee, Status: gen.ComponentStatusActive,
				BillingPeriodUnit: gen.PeriodUnitYear, Price: ptr(19990.0),
				TrialPeriodUnit: ptr(gen.TrialPeriodUnitDay), TrialPeriodValue: ptr(30.0),
				Details: &gen.PlanDetails{Title: "Standard", Features: standardFeatures},
			},
			{
				Id: UsersPlanID, ProductId: ProductID, ComponentGroupId: "builtfor_example-users",
				ComponentType: gen.PlanComponentTypePlan, PricingModel: gen.Stairstep, Status: gen.ComponentStatusActive,
				BillingPeriodUnit: gen.PeriodUnitMonth,
				Tiers: []gen.Tier{
					{StartingUnit: 1, EndingUnit: ptr(5.0), Price: 4900},
					{StartingUnit: 6, EndingUnit: ptr(10.0), Price: 8900},
					{StartingUnit: 11, Price: 14900},
				},
				Details: &gen.PlanDetails{Title: "Users", Features: []string{"Back-office accounts"}},
			},
		},
		Addons: []gen.Addon{
			{
				Id: APICallsAddonID, ProductId: ProductID, ComponentGroupId: "builtfor_example-api-calls",
				ComponentType: gen.AddonComponentTypeAddon, PricingModel: gen.PerUnit, Status: gen.ComponentStatusActive,
				IsUsageBased: true, Price: ptr(2.0),
			},
		},
		Customers: []gen.Customer{{
			Id: CustomerID, Email: CustomerEmail, Locale: gen.Fr, Type: gen.User,
			BillingAddress: &gen.BillingAddress{
				FirstName: "Camille", LastName: "Martin", CompanyName: "Example SAS",
				Line1: "12 rue d'Amsterdam", City: "Paris", Zip: "75009", Country: "FR",
			},
		}},
		Subscriptions: []gen.Subscription{{
			Id: SubscriptionID, ProductId: ProductID, ShopId: ShopID, Status: billing.StatusActive, CurrencyCode: "EUR",
			BillingPeriodUnit:   string(gen.PeriodUnitMonth),
			ResourceVersion:     fmt.Sprint(date(2025, 12).UnixMilli()),
			ActivatedAt:         ptr(float64(date(2024, 12).Unix())),
			NextRenewalAt:       ptr(float64(date(2026, 1).Unix())),
			HasScheduledChanges: ptr(false),
			SubscriptionItems: []gen.SubscriptionItem{
				{Id: StandardMonthlyPlanID, GroupId: "builtfor_example-standard", ItemType: "plan",
					Quantity: ptr(1.0), UnitPrice: ptr(1999.0), Amount: ptr(1999.0), FreeQuantity: ptr(0.0)},
				{Id: UsersPlanID, GroupId: "builtfor_example-users", ItemType: "plan",
					Quantity: ptr(1.0), UnitPrice: ptr(4900.0), Amount: ptr(4900.0), FreeQuantity: ptr(0.0)},
				{Id: APICallsAddonID, GroupId: "builtfor_example-api-calls", ItemType: "addon",
					UnitPrice: ptr(2.0), Usage: ptr(0.0)},
			},
		}},
	}
	for n := 1; n <= 12; n++ {
		id := fmt.Sprintf("INV-2025-%05d", n)
		calls := float64(250 * n)
		s.Invoices = append(s.Invoices, newInvoice(id, ShopID, SubscriptionID, ProductID, date(2025, time.Month(n)), []line{
			{"plan_item_price", StandardMonthlyPlanID, "Standard (month)", 1999},
			{"plan_item_price", UsersPlanID, "Users × 1", 4900},
			{"addon_item_price", APICallsAddonID, fmt.Sprintf("%s × %g", APICallsAddonID, calls), 2 * calls},
		}))
	}
	return s
}

func date(year int, month time.Month) time.Time {
	return time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
}

func ptr[T any](v T) *T { return &v }
