package billingtest

import (
	"cmp"
	"context"
	"net/http"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest/internal/fakeapi"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// couponCode is the only coupon the fake knows: 10% off.
const (
	couponCode    = "WELCOME10"
	couponPercent = 10
)

// AddCustomer creates the customer of the token's subject.
func (h handlers) AddCustomer(ctx context.Context, req fakeapi.AddCustomerRequestObject) (fakeapi.AddCustomerResponseObject, error) {
	c, in := callOf(ctx), req.Body
	if in.ID != c.claims.Subject {
		return newError(http.StatusForbidden, "FORBIDDEN", "the customer id %s must equal the token subject %s", in.ID, c.claims.Subject), nil
	}
	if c.claims.Email != "" && string(in.Email) != c.claims.Email {
		return newError(http.StatusForbidden, "FORBIDDEN", "the customer email must equal the token's"), nil
	}
	if _, dup := c.st.customers[in.ID]; dup {
		return newError(http.StatusForbidden, "CUSTOMER_ALREADY_EXISTS", "customer %s already exists", in.ID), nil
	}
	cust := gen.Customer{ID: in.ID, Email: in.Email, Locale: in.Locale, Type: in.Type}
	c.st.customers[in.ID] = cust
	h.s.emit(c.st, webhook.CustomerCreated, cust.ID, nil, nil)
	return fakeapi.AddCustomer201JSONResponse{Item: cust}, nil
}

// AddSubscriptionEstimateForCustomer prices a plan for a customer.
func (h handlers) AddSubscriptionEstimateForCustomer(ctx context.Context, req fakeapi.AddSubscriptionEstimateForCustomerRequestObject) (fakeapi.AddSubscriptionEstimateForCustomerResponseObject, error) {
	in, st := req.Body, callOf(ctx).st
	if _, ok := st.customers[in.CustomerID]; !ok {
		return notFound("customer", in.CustomerID), nil
	}
	if _, ok := st.products[in.ProductID]; !ok {
		return notFound("product", in.ProductID), nil
	}
	comp, ok := st.component(in.ProductID, in.ComponentID)
	if !ok || comp.Kind != gen.ComponentTypePlan {
		return notFound("component", in.ComponentID), nil
	}
	if in.SubscriptionID != "" {
		if _, ok := st.subs[in.SubscriptionID]; !ok {
			return notFound("subscription", in.SubscriptionID), nil
		}
	}
	if in.Coupon != nil && in.Coupon.CouponCode != couponCode {
		return notFound("coupon", in.Coupon.CouponCode), nil
	}

	q := cmp.Or(in.Quantity, 1)
	sub := cents(comp.amount(q))
	est := gen.Estimate{InvoiceEstimate: gen.InvoiceEstimate{
		SubTotal:      sub,
		Discounts:     []gen.EstimateDiscount{},
		LineItems:     []gen.EstimateLineItem{{Amount: sub, EntityType: gen.PlanItemPrice}},
		LineItemTaxes: []gen.EstimateLineItemTax{{TaxJurisName: "France", TaxRate: taxRate}},
	}}
	discount := 0.0
	if in.Coupon != nil {
		discount = cents(sub * couponPercent / 100)
		est.InvoiceEstimate.Discounts = append(est.InvoiceEstimate.Discounts,
			gen.EstimateDiscount{Amount: discount, DiscountType: gen.Percentage, EntityID: couponCode})
		est.Coupon = &gen.EstimateCoupon{
			ID: couponCode, DiscountType: gen.Percentage, Status: gen.CouponStatusActive,
			DiscountPercentage: float64(couponPercent),
		}
	}
	tax := cents((sub - discount) * taxRate / 100)
	est.InvoiceEstimate.Taxes = []gen.EstimateTax{{Amount: tax, Name: "TVA 20%"}}
	est.InvoiceEstimate.Total = sub - discount + tax
	est.InvoiceEstimate.AmountDue = est.InvoiceEstimate.Total
	return fakeapi.AddSubscriptionEstimateForCustomer201JSONResponse{Item: est}, nil
}
