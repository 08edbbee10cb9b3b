package billing

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/components"
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
			got = append(got, "plan "+c.ID+" "+string(c.BillingPeriodUnit)+" "+jsonNumber(c.Price))
		case gen.Addon:
			got = append(got, string(c.ComponentType)+" "+c.ID)
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
			return c.FromPlan(gen.Plan{ID: "p", ComponentType: gen.PlanComponentTypePlan})
		}, "plan"},
		{func(c *gen.Component) error {
			return c.FromAddon(gen.Addon{ID: "a", ComponentType: gen.AddonComponentTypeAddon})
		}, "addon"},
		{func(c *gen.Component) error {
			return c.FromAddon(gen.Addon{ID: "c", ComponentType: gen.AddonComponentTypeCharge})
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

// Every field of gen.Addon is a field of gen.Plan with the same type and JSON
// name (componentType aside), so decoding an addon as a Plan loses nothing, and
// split copies every one of them.
func TestComponentsOnePassKeepsEveryAddonField(t *testing.T) {
	planFields := map[string]reflect.StructField{}
	pt := reflect.TypeFor[gen.Plan]()
	for i := range pt.NumField() {
		planFields[pt.Field(i).Name] = pt.Field(i)
	}
	at := reflect.TypeFor[gen.Addon]()
	for i := range at.NumField() {
		f := at.Field(i)
		p, ok := planFields[f.Name]
		switch {
		case !ok:
			t.Errorf("gen.Addon.%s is not a field of gen.Plan: componentList loses it", f.Name)
		case f.Tag.Get("json") != p.Tag.Get("json"):
			t.Errorf("gen.Addon.%s: JSON tag %q, gen.Plan's is %q", f.Name, f.Tag.Get("json"), p.Tag.Get("json"))
		case f.Name != "ComponentType" && f.Type != p.Type:
			t.Errorf("gen.Addon.%s is a %s, gen.Plan's is a %s", f.Name, f.Type, p.Type)
		}
	}

	// An addon with every field set comes out equal, through JSON and split.
	price, end := 2.0, 100.0
	want := gen.Addon{
		ID: "a", ProductID: "p", ComponentGroupID: "g", ComponentType: gen.AddonComponentTypeCharge,
		PricingModel: gen.PerUnit, Status: gen.ComponentStatusActive, IsUsageBased: true, Price: price,
		Tiers: []gen.Tier{{StartingUnit: 1, EndingUnit: end, Price: 3}},
	}
	setAll(t, reflect.ValueOf(want))
	body, err := json.Marshal(map[string]any{"items": []any{want}, "total": 1})
	if err != nil {
		t.Fatal(err)
	}
	var list componentList
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	got, missing := list.answer()
	if missing != "" {
		t.Fatalf("answer lacks %s", missing)
	}
	if diff := cmp.Diff(&Components{Addons: []gen.Addon{want}, Total: 1}, got); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
}

// setAll fails the test if a field of the struct v is the zero value: the fixture
// must set every field for the test to prove anything.
func setAll(t *testing.T, v reflect.Value) {
	t.Helper()
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("fixture: %s.%s is not set", v.Type(), v.Type().Field(i).Name)
		}
	}
}

// The client's decode (one pass, then item by item when that fails: an addon may
// carry a field of a plan with another type, which the spec allows) agrees with
// the generated union on every answer: the same plans and addons, in the same
// order. Items the union cannot type (an unknown
// componentType) are addons in the one-pass decode, so that a new kind of
// component never breaks a client.
func FuzzComponents(f *testing.F) {
	f.Add([]byte(`{"items":[
	 {"id":"p1","productId":"x","componentGroupId":"g","componentType":"plan","pricingModel":"stairstep","status":"active","isUsageBased":false,"billingPeriodUnit":"month","tiers":[{"startingUnit":1,"endingUnit":5,"price":4900},{"startingUnit":6,"price":8900}],"details":{"title":"T","features":["a"]}},
	 {"id":"a1","productId":"x","componentGroupId":"g2","componentType":"addon","pricingModel":"per_unit","status":"active","isUsageBased":true,"price":2},
	 {"id":"c1","productId":"x","componentGroupId":"g3","componentType":"charge","pricingModel":"flat_fee","status":"active","isUsageBased":false,"price":500}
	],"total":3}`))
	f.Add([]byte(`{"items":[{"componentType":"coupon","id":"x"}],"total":1}`))
	f.Add([]byte(`{"total":0}`))
	// A charge with a plan's field of another type (found by the fuzzer).
	f.Add([]byte(`{"items":[{"id":"c1","details":"","componentType":"charge"}],"total":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var one componentList // decoded as invoke does: in one pass, else item by item
		errOne := json.Unmarshal(data, &one)
		if errOne != nil && components.DecodedAgain(&one, data) {
			errOne = nil
		}
		var union gen.ComponentList
		errUnion := json.Unmarshal(data, &union)
		if errUnion != nil {
			return // the union keeps items raw: it accepts less than it decodes later
		}
		if errOne != nil {
			// Only an item that does not decode as a component fails the one-pass
			// decode; the union reports it when the item is typed.
			for _, item := range union.Items {
				if _, err := item.ValueByDiscriminator(); err != nil {
					return
				}
			}
			t.Fatalf("one-pass decode failed (%v) on an answer whose every item the union types", errOne)
		}
		got, missing := one.answer()
		if missing != "" {
			return // the client refuses an answer without its total (invoke)
		}
		var plans, addons int
		for i, item := range union.Items {
			v, err := item.ValueByDiscriminator()
			switch c := v.(type) {
			case gen.Plan:
				if err == nil && (plans >= len(got.Plans) || !cmp.Equal(c, got.Plans[plans])) {
					t.Errorf("item %d: union %+v, one-pass plan %d differs", i, c, plans)
				}
				plans++
			case gen.Addon:
				if err == nil && (addons >= len(got.Addons) || !cmp.Equal(c, got.Addons[addons])) {
					t.Errorf("item %d: union %+v, one-pass addon %d differs", i, c, addons)
				}
				addons++
			default:
				addons++ // untyped by the union: an addon in the one-pass decode
			}
		}
		if plans != len(got.Plans) || addons != len(got.Addons) {
			t.Errorf("union: %d plans, %d others; one-pass: %d plans, %d addons", plans, addons, len(got.Plans), len(got.Addons))
		}
	})
}
