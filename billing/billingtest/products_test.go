package billingtest_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

func TestGetProductComponents(t *testing.T) {
	srv := newServer(t)
	c := fullClient(t, srv)
	all := []string{"plan " + billingtest.StandardMonthlyPlanID, "plan " + billingtest.StandardYearlyPlanID,
		"plan " + billingtest.UsersPlanID, "addon " + billingtest.APICallsAddonID}
	tests := []struct {
		name        string
		params      *gen.GetProductComponentsParams
		want        []string // "type id"
		wantDetails bool
	}{
		{"all", nil, all, false},
		{"with details", &gen.GetProductComponentsParams{LangIsoCode: gen.Fr}, all, true},
		{"plans", &gen.GetProductComponentsParams{FilterComponentType: gen.ComponentTypePlan}, all[:3], false},
		{"addons", &gen.GetProductComponentsParams{FilterComponentType: gen.ComponentTypeAddon}, all[3:], false},
		{"charges", &gen.GetProductComponentsParams{FilterComponentType: gen.ComponentTypeCharge}, nil, false},
		{"monthly: plans only", &gen.GetProductComponentsParams{FilterPeriodUnit: gen.PeriodUnitMonth}, []string{all[0], all[2]}, false},
		{"yearly", &gen.GetProductComponentsParams{FilterPeriodUnit: gen.PeriodUnitYear}, all[1:2], false},
		{"active", &gen.GetProductComponentsParams{FilterStatus: gen.ComponentStatusActive}, all, false},
		{"archived", &gen.GetProductComponentsParams{FilterStatus: gen.ComponentStatusArchived}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.GetProductComponentsWithResponse(t.Context(), billingtest.ProductID, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if res.JSON200 == nil {
				t.Fatalf("status %d: %s", res.StatusCode(), res.Body)
			}
			var got []string
			for _, item := range res.JSON200.Items {
				v, err := item.ValueByDiscriminator()
				if err != nil {
					t.Fatalf("item %d: %v", len(got), err)
				}
				switch v := v.(type) {
				case gen.Plan:
					got = append(got, "plan "+v.ID)
					if (v.Details != nil) != tt.wantDetails {
						t.Errorf("plan %s details = %v, want details %v", v.ID, v.Details, tt.wantDetails)
					}
				case gen.Addon:
					got = append(got, string(v.ComponentType)+" "+v.ID)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("components (-want +got):\n%s", diff)
			}
			if res.JSON200.Total != float64(len(tt.want)) {
				t.Errorf("total = %v, want %d", res.JSON200.Total, len(tt.want))
			}
		})
	}
}

func TestGetProductComponentsPlanFields(t *testing.T) {
	srv := newServer(t)
	res, err := fullClient(t, srv).GetProductComponentsWithResponse(t.Context(), billingtest.ProductID,
		&gen.GetProductComponentsParams{LangIsoCode: gen.En})
	if err != nil || res.JSON200 == nil {
		t.Fatalf("%v %s", err, res.Body)
	}
	users, err := res.JSON200.Items[2].AsPlan()
	if err != nil {
		t.Fatal(err)
	}
	want := gen.Plan{
		ID: billingtest.UsersPlanID, ProductID: billingtest.ProductID, ComponentGroupID: "builtfor_example-users",
		ComponentType: gen.PlanComponentTypePlan, PricingModel: gen.Stairstep, Status: gen.ComponentStatusActive,
		BillingPeriodUnit: gen.PeriodUnitMonth,
		Tiers: []gen.Tier{
			{StartingUnit: 1, EndingUnit: 5.0, Price: 4900},
			{StartingUnit: 6, EndingUnit: 10.0, Price: 8900},
			{StartingUnit: 11, Price: 14900},
		},
		Details: &gen.PlanDetails{Title: "Users", Features: []string{"Back-office accounts"}},
	}
	if diff := cmp.Diff(want, users); diff != "" {
		t.Errorf("users plan (-want +got):\n%s", diff)
	}
}

func TestGetProductComponentsUnknownProduct(t *testing.T) {
	srv := newServer(t)
	res, err := fullClient(t, srv).GetProductComponentsWithResponse(t.Context(), "builtfor_unknown", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON404 == nil || res.JSON404.ErrorCode != "PRODUCT_NOT_FOUND" {
		t.Errorf("status %d: %s, want 404 PRODUCT_NOT_FOUND", res.StatusCode(), res.Body)
	}
}
