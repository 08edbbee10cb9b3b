package components

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// A charge may carry a field of a plan with another type: the spec allows any
// other field on an addon. The one-pass decode refuses it; DecodedAgain types
// each item and keeps the answer.
func TestDecodedAgainTypesEachItem(t *testing.T) {
	body := []byte(`{"items":[
	 {"id":"p1","componentType":"plan","pricingModel":"flat_fee","details":{"title":"T"}},
	 {"id":"c1","componentType":"charge","pricingModel":"flat_fee","price":500,"details":"","freeQuantity":"none"}
	],"total":2}`)
	var l List
	if err := json.Unmarshal(body, &l); err == nil {
		t.Fatal("the one-pass decode accepted the charge's string details: this test proves nothing")
	}
	if !DecodedAgain(&l, body) {
		t.Fatal("DecodedAgain = false")
	}
	price, total := 500.0, 2.0
	want := List{Items: []gen.Plan{
		{ID: "p1", ComponentType: "plan", PricingModel: "flat_fee", Details: &gen.PlanDetails{Title: "T"}},
		{ID: "c1", ComponentType: "charge", PricingModel: "flat_fee", Price: price},
	}, Total: &total}
	if diff := cmp.Diff(want, l); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	if DecodedAgain(&l, []byte(`{"items":[{"id":"p1","componentType":"plan","details":""}]}`)) {
		t.Error("DecodedAgain accepted a plan whose details is a string")
	}
	if DecodedAgain(&struct{}{}, body) {
		t.Error("DecodedAgain = true for a type with no DecodeAgain")
	}
}
