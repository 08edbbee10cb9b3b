package ops

import (
	"math"
	"strconv"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// The checks of the typed inputs of each operation, one function per operation, in
// the order openapi3filter checks the request they encode to (path parameters, query
// parameters, then body fields by name), each returning the first problem or nil.
// Their reasons are openapi3filter's words: a test of package billing proves that
// they refuse what it refuses, naming the same field for the same reason.
//
// A NaN or an infinity, which JSON cannot carry (the builder would fail), is refused
// naming its field too.

const (
	reasonRequired = "value is required but missing"
	reasonEmpty    = "minimum string length is 1"
)

var (
	locales        = []string{"de", "en", "es", "fr", "it", "nl", "pl", "pt", "ro"}
	statuses       = []string{"active", "archived", "deleted"}
	componentTypes = []string{"plan", "addon", "charge"}
	periodUnits    = []string{"day", "month", "year"}
)

// CheckPathValues refuses path parameters (name, value pairs) that would not reach
// the server as themselves: "." and ".." are removed from a URL path by every HTTP
// stack, so the request would address another resource. The client runs it on every
// call, its checks on or off. Empty values are left to the operation's check.
func CheckPathValues(nameValues ...string) *FieldError {
	for i := 0; i+1 < len(nameValues); i += 2 {
		if v := nameValues[i+1]; v == "." || v == ".." {
			return &FieldError{Field: "path parameter " + nameValues[i], Reason: strconv.Quote(v) + " is not a valid id"}
		}
	}
	return nil
}

// path refuses an empty path parameter.
func path(name, value string) *FieldError {
	if value == "" {
		return &FieldError{Field: "path parameter " + name, Reason: reasonRequired}
	}
	return nil
}

// nonEmpty refuses an empty body field, a string of minLength 1.
func nonEmpty(field, value string) *FieldError {
	if value == "" {
		return &FieldError{Field: field, Reason: reasonEmpty}
	}
	return nil
}

// oneOf refuses a value that is not one of allowed; an empty one too unless optional.
func oneOf(field, value string, optional bool, allowed []string) *FieldError {
	if value == "" && optional {
		return nil
	}
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	reason := "value is not one of the allowed values ["
	for i, a := range allowed {
		if i > 0 {
			reason += ","
		}
		reason += strconv.Quote(a)
	}
	return &FieldError{Field: field, Reason: reason + "]"}
}

// number refuses a NaN or an infinity, and a value below min (above it, when
// exclusive, as the spec's exclusiveMinimum says).
func number(field string, v, min float64, exclusive bool) *FieldError {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return &FieldError{Field: field, Reason: "value " + strconv.FormatFloat(v, 'f', -1, 64) + ": not a number JSON can carry"}
	case exclusive && v <= min:
		return &FieldError{Field: field, Reason: "number must be more than " + strconv.FormatFloat(min, 'f', -1, 64)}
	case v < min:
		return &FieldError{Field: field, Reason: "number must be at least " + strconv.FormatFloat(min, 'f', -1, 64)}
	}
	return nil
}

// queryNumber refuses a number query parameter that the builder writes as NaN, +Inf
// or -Inf, which does not parse as a number.
func queryNumber(name string, v float64) *FieldError {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return &FieldError{Field: "query parameter " + name, Reason: "value " + strconv.FormatFloat(v, 'f', -1, 64) + ": an invalid number: invalid syntax"}
	}
	return nil
}

// first returns the first non-nil problem.
func first(problems ...*FieldError) *FieldError {
	for _, p := range problems {
		if p != nil {
			return p
		}
	}
	return nil
}

// CheckAddCustomer checks the inputs of addCustomer.
func CheckAddCustomer(body *gen.CustomerInput) *FieldError {
	return first(
		nonEmpty("id", body.ID),
		oneOf("locale", string(body.Locale), false, locales),
		oneOf("type", string(body.Type), false, []string{"user"}),
	)
}

// CheckAddSubscriptionEstimateForCustomer checks the inputs of
// addSubscriptionEstimateForCustomer.
func CheckAddSubscriptionEstimateForCustomer(body *gen.EstimateInput) *FieldError {
	var coupon, quantity *FieldError
	if body.Coupon != nil {
		coupon = nonEmpty("coupon.couponCode", body.Coupon.CouponCode)
	}
	if body.Quantity != 0 { // 0: not set
		quantity = number("quantity", body.Quantity, 0, false)
	}
	return first(
		nonEmpty("componentId", body.ComponentID),
		coupon,
		nonEmpty("customerId", body.CustomerID),
		nonEmpty("productId", body.ProductID),
		quantity,
	)
}

// CheckAddSubscriptionChargeAtTerm checks the inputs of addSubscriptionChargeAtTerm.
func CheckAddSubscriptionChargeAtTerm(subscriptionID string, body *gen.ChargeAtTermInput) *FieldError {
	return first(
		path("subscriptionId", subscriptionID),
		number("amount", body.Amount, 0, false),
		nonEmpty("description", body.Description),
	)
}

// CheckSetSubscriptionItemQuantity checks the inputs of setSubscriptionItemQuantity.
func CheckSetSubscriptionItemQuantity(subscriptionID, itemID string, body *gen.QuantityInput) *FieldError {
	return first(
		path("subscriptionId", subscriptionID),
		path("subscriptionItemId", itemID),
		number("quantity", body.Quantity, 0, true),
	)
}

// CheckSetSubscriptionItemUsage checks the inputs of setSubscriptionItemUsage.
func CheckSetSubscriptionItemUsage(subscriptionID, itemID string, body *gen.UsageInput) *FieldError {
	return first(
		path("subscriptionId", subscriptionID),
		path("subscriptionItemId", itemID),
		number("usageQuantity", body.UsageQuantity, 0, true),
	)
}

// CheckUpdateSubscription checks the inputs of updateSubscription.
func CheckUpdateSubscription(subscriptionID string, body *gen.SubscriptionUpdateInput) *FieldError {
	return first(
		path("subscriptionId", subscriptionID),
		nonEmpty("subscriptionItemId", body.SubscriptionItemID),
	)
}

// CheckGetProductComponents checks the inputs of getProductComponents.
func CheckGetProductComponents(productID string, params *gen.GetProductComponentsParams) *FieldError {
	return first(
		path("productId", productID),
		oneOf("query parameter lang_iso_code", string(params.LangIsoCode), true, locales),
		oneOf("query parameter filter_status", string(params.FilterStatus), true, statuses),
		oneOf("query parameter filter_component_type", string(params.FilterComponentType), true, componentTypes),
		oneOf("query parameter filter_period_unit", string(params.FilterPeriodUnit), true, periodUnits),
	)
}

// CheckGetInvoices checks the inputs of getInvoices.
func CheckGetInvoices(params *gen.GetInvoicesParams) *FieldError {
	var id, typ *FieldError
	if params.ID == "" {
		id = &FieldError{Field: "query parameter id", Reason: reasonRequired}
	}
	if params.Type == "" {
		typ = &FieldError{Field: "query parameter type", Reason: reasonRequired}
	}
	return first(id, typ, queryNumber("limit", params.Limit), queryNumber("offset", params.Offset))
}

// CheckGetInvoiceDownload checks the inputs of getInvoiceDownload.
func CheckGetInvoiceDownload(invoiceID string) *FieldError {
	return path("invoiceId", invoiceID)
}
