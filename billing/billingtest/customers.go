package billingtest

import (
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
	c := callOf(ctx)
	in := req.Body
	if in.ID != c.claims.Subject {
		return newError(http.StatusForbidden, "FORBIDDEN", "the customer id %s must equal the token subject %s", in.ID, c.claims.Subject), nil
	}
	if c.claims.Email != "" && string(in.Email) != c.claims.Email {
		return newError(http.StatusForbidden, "FORBIDDEN", "the customer email must equal the token's"), nil
	}
	st := c.st
	if _, dup := st.customers[in.ID]; dup {
		return newError(http.StatusForbidden, "CUSTOMER_ALREADY_EXISTS", "customer %s already exists", in.ID), nil
	}
	cust := gen.Customer{ID: in.ID, Email: in.Email, Locale: in.Locale, Type: in.Type}
	st.customers[in.ID] = cust
	h.s.emit(st, webhook.CustomerCreated, cust.ID, nil, nil)
	return fakeapi.AddCustomer201JSONResponse{Item: cust}, nil
}

// AddSubscriptionEstimateForCustomer prices a plan for a customer.
func (h handlers) AddSubscriptionEstimateForCustomer(ctx context.Context, req fakeapi.AddSubscriptionEstimateForCustomerRequestObject) (fakeapi.AddSubscriptionEstimateForCustomerResponseObject, error) {
	c := callOf(ctx)
	in := req.Body
	st := c.st
	if _, ok := st.customers[in.CustomerID]; !ok {
		return newError(http.StatusNotFound, "CUSTOMER_NOT_FOUND", "customer %s not found", in.CustomerID), nil
	}
	if _, ok := st.products[in.ProductID]; !ok {
		return newError(http.StatusNotFound, "PRODUCT_NOT_FOUND", "product %s not found", in.ProductID), nil
	}
	comp, ok := st.component(in.ProductID, in.ComponentID)
	if !ok || comp.plan == nil {
		return newError(http.StatusNotFound, "COMPONENT_NOT_FOUND", "plan %s not found in product %s", in.ComponentID, in.ProductID), nil
	}
	if in.SubscriptionID != "" {
		if _, ok := st.subs[in.SubscriptionID]; !ok {
			return newError(http.StatusNotFound, "SUBSCRIPTION_NOT_FOUND", "subscription %s not found", in.SubscriptionID), nil
		}
	}
	if in.Coupon != nil && in.Coupon.CouponCode != couponCode {
		return newError(http.StatusNotFound, "COUPON_NOT_FOUND", "coupon %s not found", in.Coupon.CouponCode), nil
	}

	q := 1.0
	if in.Quantity != 0 {
		q = in.Quantity
	}
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
