package billing

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// The component union must come out as a Plan or an Addon, in both directions.
func TestComponentUnion(t *testing.T) {
	const body = `{"items":[
	 {"id":"p1","productId":"x","componentGroupId":"g","componentType":"plan","pricingModel":"flat_fee","status":"active","isUsageBased":false,"billingPeriodUnit":"month","price":16777217},
	 {"id":"a1","productId":"x","componentGroupId":"g2","componentType":"addon","pricingModel":"per_unit","status":"active","isUsageBased":true,"price":2},
	 {"id":"c1","productId":"x","componentGroupId":"g3","componentType":"charge","pricingModel":"flat_fee","status":"active","isUsageBased":false,"price":500}
	],"total":3}`
	var list gen.ComponentList
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, item := range list.Items {
		v, err := item.ValueByDiscriminator()
		if err != nil {
			t.Fatal(err)
		}
		switch c := v.(type) {
		case gen.Plan:
			// 16777217 cents is not exact in float32: amounts must be float64.
			got = append(got, "plan "+c.Id+" "+string(c.BillingPeriodUnit)+" "+jsonNumber(*c.Price))
		case gen.Addon:
			got = append(got, string(c.ComponentType)+" "+c.Id)
		}
	}
	want := []string{"plan p1 month 16777217", "addon a1", "charge c1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}

	// Encoding: From* keeps the componentType the value carries.
	for _, tc := range []struct {
		set  func(*gen.Component) error
		want string
	}{
		{func(c *gen.Component) error {
			return c.FromPlan(gen.Plan{Id: "p", ComponentType: gen.PlanComponentTypePlan})
		}, "plan"},
		{func(c *gen.Component) error {
			return c.FromAddon(gen.Addon{Id: "a", ComponentType: gen.AddonComponentTypeAddon})
		}, "addon"},
		{func(c *gen.Component) error {
			return c.FromAddon(gen.Addon{Id: "c", ComponentType: gen.AddonComponentTypeCharge})
		}, "charge"},
	} {
		var c gen.Component
		if err := tc.set(&c); err != nil {
			t.Fatal(err)
		}
		if d, err := c.Discriminator(); err != nil || d != tc.want {
			t.Errorf("Discriminator() = %q, %v; want %q", d, err, tc.want)
		}
	}
}

func jsonNumber(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}
