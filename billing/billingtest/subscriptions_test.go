package billingtest_test

import (
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

func TestSetSubscriptionItemQuantity(t *testing.T) {
	srv := newServer(t)
	c := fullClient(t, srv)
	tests := []struct {
		name, sub, item string
		quantity        float64
		wantStatus      int
		wantAmount      float64 // the item's amount after the call
	}{
		{"7 users", billingtest.SubscriptionID, billingtest.UsersPlanID, 7, 200, 8900},
		{"7 again: not cumulative", billingtest.SubscriptionID, billingtest.UsersPlanID, 7, 200, 8900},
		{"12 users", billingtest.SubscriptionID, billingtest.UsersPlanID, 12, 200, 14900},
		{"flat fee", billingtest.SubscriptionID, billingtest.StandardMonthlyPlanID, 2, 400, 1999},
		{"metered", billingtest.SubscriptionID, billingtest.APICallsAddonID, 2, 400, 0},
		{"unknown item", billingtest.SubscriptionID, "nope", 2, 404, 0},
		{"unknown subscription", "nope", billingtest.UsersPlanID, 2, 404, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.SetSubscriptionItemQuantityWithResponse(t.Context(), tt.sub, tt.item, gen.QuantityInput{Quantity: tt.quantity})
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode() != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode(), tt.wantStatus, res.Body)
			}
			if tt.wantStatus != 200 {
				return
			}
			if got := res.JSON200.Item.Quantity; got != tt.quantity {
				t.Errorf("answered quantity %v, want %v", got, tt.quantity)
			}
			sub, _ := srv.Subscription(tt.sub, false)
			it := item(t, sub, tt.item)
			if it.Quantity != tt.quantity || it.Amount != tt.wantAmount {
				t.Errorf("item quantity %v amount %v, want %v and %v", it.Quantity, it.Amount, tt.quantity, tt.wantAmount)
			}
		})
	}
	if got := srv.Applied("setSubscriptionItemQuantity"); got != 3 {
		t.Errorf("Applied = %d, want 3", got)
	}
}

func item(t *testing.T, sub gen.Subscription, id string) gen.SubscriptionItem {
	t.Helper()
	for _, it := range sub.SubscriptionItems {
		if it.ID == id {
			return it
		}
	}
	t.Fatalf("subscription %s has no item %s", sub.ID, id)
	return gen.SubscriptionItem{}
}

func TestSetSubscriptionItemUsage(t *testing.T) {
	srv := newServer(t)
	c := fullClient(t, srv)
	for _, q := range []float64{100, 50, 0.5} {
		res, err := c.SetSubscriptionItemUsageWithResponse(t.Context(), billingtest.SubscriptionID, billingtest.APICallsAddonID, gen.UsageInput{UsageQuantity: q})
		if err != nil {
			t.Fatal(err)
		}
		if res.JSON201 == nil || res.JSON201.Item.UsageQuantity != q {
			t.Fatalf("usage %v: status %d: %s", q, res.StatusCode(), res.Body)
		}
	}
	if got := srv.Usage(billingtest.SubscriptionID, billingtest.APICallsAddonID, false); got != 150.5 {
		t.Errorf("usage = %v, want 150.5 (summed)", got)
	}
	sub, _ := srv.Subscription(billingtest.SubscriptionID, false)
	if got := item(t, sub, billingtest.APICallsAddonID).Usage; got != 150.5 {
		t.Errorf("subscription item usage = %v, want 150.5", got)
	}

	for _, tt := range []struct {
		name, sub, item string
		wantStatus      int
	}{
		{"not metered", billingtest.SubscriptionID, billingtest.UsersPlanID, 400},
		{"unknown item", billingtest.SubscriptionID, "nope", 404},
		{"unknown subscription", "nope", billingtest.APICallsAddonID, 404},
	} {
		res, err := c.SetSubscriptionItemUsageWithResponse(t.Context(), tt.sub, tt.item, gen.UsageInput{UsageQuantity: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != tt.wantStatus {
			t.Errorf("%s: status %d, want %d: %s", tt.name, res.StatusCode(), tt.wantStatus, res.Body)
		}
	}
	if got := srv.Usage(billingtest.SubscriptionID, billingtest.APICallsAddonID, false); got != 150.5 {
		t.Errorf("usage after refused calls = %v, want 150.5", got)
	}
	if r, a := srv.Requests("setSubscriptionItemUsage"), srv.Applied("setSubscriptionItemUsage"); r != 6 || a != 3 {
		t.Errorf("Requests, Applied = %d, %d, want 6, 3", r, a)
	}

	inv, err := srv.CloseBillingPeriod(billingtest.SubscriptionID, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Usage(billingtest.SubscriptionID, billingtest.APICallsAddonID, false); got != 0 {
		t.Errorf("usage after the period closed = %v, want 0", got)
	}
	if got := line(t, inv, billingtest.APICallsAddonID); got.Amount != 301 || got.EntityType != "addon_item_price" {
		t.Errorf("usage line = %v %v, want 301 (150.5 calls × 2) addon_item_price", got.Amount, got.EntityType)
	}
}

// line returns the invoice's line of a component.
func line(t *testing.T, inv gen.Invoice, componentID string) gen.InvoiceLineItem {
	t.Helper()
	for _, l := range inv.LineItems {
		if l.ComponentID != "" && l.ComponentID == componentID {
			return l
		}
	}
	t.Fatalf("invoice %s has no line of %s", inv.InvoiceID, componentID)
	return gen.InvoiceLineItem{}
}

func TestChargeAtTerm(t *testing.T) {
	srv := newServer(t)
	c := fullClient(t, srv)
	charges := []gen.ChargeAtTermInput{{Amount: 1500, Description: "Onboarding session (1 h)"}, {Amount: 990, Description: "Extra storage"}}
	for _, ch := range charges {
		res, err := c.AddSubscriptionChargeAtTermWithResponse(t.Context(), billingtest.SubscriptionID, ch)
		if err != nil {
			t.Fatal(err)
		}
		if res.JSON201 == nil || res.JSON201.Item != gen.ChargeAtTerm(ch) {
			t.Fatalf("status %d: %s", res.StatusCode(), res.Body)
		}
	}
	want := []gen.ChargeAtTerm{gen.ChargeAtTerm(charges[0]), gen.ChargeAtTerm(charges[1])}
	if diff := cmp.Diff(want, srv.PendingCharges(billingtest.SubscriptionID, false)); diff != "" {
		t.Errorf("pending charges (-want +got):\n%s", diff)
	}
	if n := len(srv.Invoices(billingtest.SubscriptionID, false)); n != 12 {
		t.Errorf("%d invoices, want the 12 seeded: a charge waits for the next invoice", n)
	}

	inv, err := srv.CloseBillingPeriod(billingtest.SubscriptionID, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []gen.ChargeAtTerm
	for _, l := range inv.LineItems {
		if l.EntityType == "adhoc" {
			got = append(got, gen.ChargeAtTerm{Amount: l.Amount, Description: l.Description})
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("adhoc lines of the next invoice (-want +got):\n%s", diff)
	}
	if p := srv.PendingCharges(billingtest.SubscriptionID, false); len(p) != 0 {
		t.Errorf("pending charges after the invoice: %v", p)
	}
	res, err := c.AddSubscriptionChargeAtTermWithResponse(t.Context(), "nope", charges[0])
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON404 == nil {
		t.Errorf("unknown subscription: status %d, want 404", res.StatusCode())
	}
}

func TestChargeAtTermNeedsActiveSubscription(t *testing.T) {
	for _, status := range []gen.SubscriptionStatus{gen.SubscriptionStatusCancelled, gen.SubscriptionStatusPaused, gen.SubscriptionStatusInTrial} {
		seed := billingtest.DefaultSeed()
		seed.Subscriptions[0].Status = status
		srv := newServer(t, billingtest.WithSeed(seed))
		res, err := fullClient(t, srv).AddSubscriptionChargeAtTermWithResponse(t.Context(), billingtest.SubscriptionID,
			gen.ChargeAtTermInput{Amount: 100, Description: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if res.JSON400 == nil {
			t.Errorf("%s: status %d, want 400", status, res.StatusCode())
		}
	}
	seed := billingtest.DefaultSeed()
	seed.Subscriptions[0].Status = "non_renewing"
	srv := newServer(t, billingtest.WithSeed(seed))
	res, err := fullClient(t, srv).AddSubscriptionChargeAtTermWithResponse(t.Context(), billingtest.SubscriptionID,
		gen.ChargeAtTermInput{Amount: 100, Description: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON201 == nil {
		t.Errorf("non_renewing: status %d, want 201", res.StatusCode())
	}
}

func TestUpdateSubscription(t *testing.T) {
	srv := newServer(t)
	c := fullClient(t, srv)
	before, _ := srv.Subscription(billingtest.SubscriptionID, false)

	res, err := c.UpdateSubscriptionWithResponse(t.Context(), billingtest.SubscriptionID,
		gen.SubscriptionUpdateInput{SubscriptionItemID: billingtest.StandardYearlyPlanID})
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON200 == nil {
		t.Fatalf("status %d: %s", res.StatusCode(), res.Body)
	}
	got := res.JSON200.Item
	want := before
	want.BillingPeriodUnit = string(gen.PeriodUnitYear)
	want.SubscriptionItems[0] = gen.SubscriptionItem{
		ID: billingtest.StandardYearlyPlanID, GroupID: "builtfor_example-standard", ItemType: "plan",
		Quantity: 1.0, UnitPrice: 19990.0, Amount: 19990.0, FreeQuantity: 0.0,
	}
	want.ResourceVersion = got.ResourceVersion
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("subscription (-want +got):\n%s", diff)
	}
	if v0, v1 := version(t, before), version(t, got); v1 <= v0 {
		t.Errorf("resourceVersion %d, want more than %d", v1, v0)
	}
	if stored, _ := srv.Subscription(billingtest.SubscriptionID, false); !cmp.Equal(stored, got) {
		t.Errorf("stored subscription differs from the answer:\n%s", cmp.Diff(stored, got))
	}

	// The same change again changes nothing.
	res, err = c.UpdateSubscriptionWithResponse(t.Context(), billingtest.SubscriptionID,
		gen.SubscriptionUpdateInput{SubscriptionItemID: billingtest.StandardYearlyPlanID})
	if err != nil || res.JSON200 == nil {
		t.Fatalf("again: %v %s", err, res.Body)
	}
	if diff := cmp.Diff(got, res.JSON200.Item); diff != "" {
		t.Errorf("again (-first +second):\n%s", diff)
	}

	for _, tt := range []struct {
		name, sub, component, coupon string
		wantStatus                   int
	}{
		{"unknown component", billingtest.SubscriptionID, "nope", "", 404},
		{"addon", billingtest.SubscriptionID, billingtest.APICallsAddonID, "", 400},
		{"unknown subscription", "nope", billingtest.StandardMonthlyPlanID, "", 404},
		{"unknown coupon", billingtest.SubscriptionID, billingtest.StandardMonthlyPlanID, "FREE", 404},
		{"back to monthly with the coupon", billingtest.SubscriptionID, billingtest.StandardMonthlyPlanID, "WELCOME10", 200},
	} {
		res, err := c.UpdateSubscriptionWithResponse(t.Context(), tt.sub,
			gen.SubscriptionUpdateInput{SubscriptionItemID: tt.component, CouponCode: tt.coupon})
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != tt.wantStatus {
			t.Errorf("%s: status %d, want %d: %s", tt.name, res.StatusCode(), tt.wantStatus, res.Body)
		}
	}
	if sub, _ := srv.Subscription(billingtest.SubscriptionID, false); sub.BillingPeriodUnit != string(gen.PeriodUnitMonth) ||
		sub.SubscriptionItems[0].ID != billingtest.StandardMonthlyPlanID {
		t.Errorf("after the change back: %s %s", sub.BillingPeriodUnit, sub.SubscriptionItems[0].ID)
	}
}

func TestUpdateSubscriptionPlanAndPeriodAtOnce(t *testing.T) {
	seed := billingtest.DefaultSeed()
	seed.Plans = append(seed.Plans, gen.Plan{
		ID: "builtfor_example-premium-EUR-Yearly", ProductID: billingtest.ProductID, ComponentGroupID: "builtfor_example-premium",
		PricingModel: gen.FlatFee, Status: gen.ComponentStatusActive, BillingPeriodUnit: gen.PeriodUnitYear, Price: 49990.0,
	})
	seed.Subscriptions[0].SubscriptionItems = seed.Subscriptions[0].SubscriptionItems[:1]
	srv := newServer(t, billingtest.WithSeed(seed))
	res, err := fullClient(t, srv).UpdateSubscriptionWithResponse(t.Context(), billingtest.SubscriptionID,
		gen.SubscriptionUpdateInput{SubscriptionItemID: "builtfor_example-premium-EUR-Yearly"})
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON400 == nil {
		t.Errorf("status %d, want 400: %s", res.StatusCode(), res.Body)
	}
}

func version(t *testing.T, s gen.Subscription) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s.ResourceVersion, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
