package billingtest_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

func TestAddCustomer(t *testing.T) {
	srv := newServer(t)
	c := apiClient(t, srv, fetchToken(t, srv)) // addCustomer needs no scope
	in := gen.CustomerInput{ID: srv.ClientID, Email: "owner@example.com", Locale: gen.Fr, Type: gen.User}
	tests := []struct {
		name       string
		in         gen.CustomerInput
		wantStatus int
		wantCode   string
	}{
		{"created", in, 201, ""},
		{"again", in, 403, "CUSTOMER_ALREADY_EXISTS"},
		{"not the token subject", gen.CustomerInput{ID: "someone-else", Email: "x@example.com", Locale: gen.En, Type: gen.User}, 403, "FORBIDDEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.AddCustomerWithResponse(t.Context(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode() != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode(), tt.wantStatus, res.Body)
			}
			switch {
			case res.JSON201 != nil:
				want := gen.Customer{ID: tt.in.ID, Email: tt.in.Email, Locale: tt.in.Locale, Type: tt.in.Type}
				if diff := cmp.Diff(want, res.JSON201.Item); diff != "" {
					t.Errorf("customer (-want +got):\n%s", diff)
				}
			case res.JSON403 != nil:
				if res.JSON403.ErrorCode != tt.wantCode {
					t.Errorf("errorCode = %s, want %s", res.JSON403.ErrorCode, tt.wantCode)
				}
			}
		})
	}
	if _, ok := srv.Customer(srv.ClientID, false); !ok {
		t.Error("customer not in the live store")
	}
	if _, ok := srv.Customer(srv.ClientID, true); ok {
		t.Error("customer in the sandbox store")
	}
	if got := srv.Applied("addCustomer"); got != 1 {
		t.Errorf("Applied = %d, want 1", got)
	}
}

func TestEstimate(t *testing.T) {
	srv := newServer(t)
	c := fullClient(t, srv)
	base := gen.EstimateInput{CustomerID: billingtest.CustomerID, ProductID: billingtest.ProductID}
	with := func(change func(*gen.EstimateInput)) gen.EstimateInput {
		in := base
		change(&in)
		return in
	}
	estimate := func(sub, discount float64) gen.InvoiceEstimate {
		tax := sub - discount
		tax = float64(int64(tax*0.2 + 0.5))
		e := gen.InvoiceEstimate{
			SubTotal: sub, Total: sub - discount + tax, AmountDue: sub - discount + tax,
			Discounts:     []gen.EstimateDiscount{},
			LineItems:     []gen.EstimateLineItem{{Amount: sub, EntityType: gen.PlanItemPrice}},
			LineItemTaxes: []gen.EstimateLineItemTax{{TaxJurisName: "France", TaxRate: 20}},
			Taxes:         []gen.EstimateTax{{Amount: tax, Name: "TVA 20%"}},
		}
		if discount > 0 {
			e.Discounts = []gen.EstimateDiscount{{Amount: discount, DiscountType: gen.Percentage, EntityID: "WELCOME10"}}
		}
		return e
	}
	tests := []struct {
		name     string
		in       gen.EstimateInput
		want     gen.InvoiceEstimate
		wantCode string // a 404's errorCode
	}{
		{"yearly flat fee", with(func(in *gen.EstimateInput) { in.ComponentID = billingtest.StandardYearlyPlanID }), estimate(19990, 0), ""},
		{"change of a subscription", with(func(in *gen.EstimateInput) {
			in.ComponentID = billingtest.StandardYearlyPlanID
			in.SubscriptionID = billingtest.SubscriptionID
		}), estimate(19990, 0), ""},
		{"stairstep, 7 users", with(func(in *gen.EstimateInput) { in.ComponentID = billingtest.UsersPlanID; in.Quantity = 7.0 }), estimate(8900, 0), ""},
		{"stairstep, 11 users", with(func(in *gen.EstimateInput) { in.ComponentID = billingtest.UsersPlanID; in.Quantity = 11.0 }), estimate(14900, 0), ""},
		{"coupon", with(func(in *gen.EstimateInput) {
			in.ComponentID = billingtest.StandardMonthlyPlanID
			in.Coupon = &gen.CouponInput{CouponCode: "WELCOME10"}
		}), estimate(1999, 200), ""},
		{"unknown coupon", with(func(in *gen.EstimateInput) {
			in.ComponentID = billingtest.StandardMonthlyPlanID
			in.Coupon = &gen.CouponInput{CouponCode: "FREE"}
		}), gen.InvoiceEstimate{}, "COUPON_NOT_FOUND"},
		{"addon", with(func(in *gen.EstimateInput) { in.ComponentID = billingtest.APICallsAddonID }), gen.InvoiceEstimate{}, "COMPONENT_NOT_FOUND"},
		{"unknown plan", with(func(in *gen.EstimateInput) { in.ComponentID = "nope" }), gen.InvoiceEstimate{}, "COMPONENT_NOT_FOUND"},
		{"unknown customer", with(func(in *gen.EstimateInput) { in.ComponentID = billingtest.StandardYearlyPlanID; in.CustomerID = "nope" }), gen.InvoiceEstimate{}, "CUSTOMER_NOT_FOUND"},
		{"unknown product", with(func(in *gen.EstimateInput) { in.ComponentID = billingtest.StandardYearlyPlanID; in.ProductID = "nope" }), gen.InvoiceEstimate{}, "PRODUCT_NOT_FOUND"},
		{"unknown subscription", with(func(in *gen.EstimateInput) {
			in.ComponentID = billingtest.StandardYearlyPlanID
			in.SubscriptionID = "nope"
		}), gen.InvoiceEstimate{}, "SUBSCRIPTION_NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.AddSubscriptionEstimateForCustomerWithResponse(t.Context(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCode != "" {
				if res.JSON404 == nil || res.JSON404.ErrorCode != tt.wantCode {
					t.Fatalf("status %d: %s, want 404 %s", res.StatusCode(), res.Body, tt.wantCode)
				}
				return
			}
			if res.JSON201 == nil {
				t.Fatalf("status %d: %s", res.StatusCode(), res.Body)
			}
			if diff := cmp.Diff(tt.want, res.JSON201.Item.InvoiceEstimate); diff != "" {
				t.Errorf("estimate (-want +got):\n%s", diff)
			}
		})
	}
}
