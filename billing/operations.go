package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/ops"
)

// API is the Billing API as *Client offers it: one method per operation of the
// spec, and Invoices. Code that calls Billing can take an API, so that its tests
// can pass a stub of their own instead of a Client (see billingtest for a fake
// server, which tests the client too).
type API interface {
	GetProductComponents(ctx context.Context, productID string, params gen.GetProductComponentsParams, opts ...RequestEditorFn) (*Components, error)
	AddCustomer(ctx context.Context, body gen.CustomerInput, opts ...RequestEditorFn) (*gen.CustomerResponse, error)
	AddSubscriptionEstimateForCustomer(ctx context.Context, body gen.EstimateInput, opts ...RequestEditorFn) (*gen.EstimateResponse, error)
	AddSubscriptionChargeAtTerm(ctx context.Context, subscriptionID string, body gen.ChargeAtTermInput, opts ...RequestEditorFn) (*gen.ChargeAtTermResponse, error)
	SetSubscriptionItemQuantity(ctx context.Context, subscriptionID, itemID string, body gen.QuantityInput, opts ...RequestEditorFn) (*gen.QuantityResponse, error)
	SetSubscriptionItemUsage(ctx context.Context, subscriptionID, itemID string, body gen.UsageInput, opts ...RequestEditorFn) (*gen.UsageResponse, error)
	UpdateSubscription(ctx context.Context, subscriptionID string, body gen.SubscriptionUpdateInput, opts ...RequestEditorFn) (*gen.SubscriptionResponse, error)
	GetInvoices(ctx context.Context, params gen.GetInvoicesParams, opts ...RequestEditorFn) (*gen.InvoiceList, error)
	GetInvoiceDownload(ctx context.Context, invoiceID string, opts ...RequestEditorFn) (*gen.InvoiceDownloadResponse, error)
	Invoices(ctx context.Context, subscriptionID string, opts ...RequestEditorFn) iter.Seq2[gen.Invoice, error]
}

var _ API = (*Client)(nil)

// GetProductComponents lists the components of a product, its plans and its
// addons, productID being its technical name (for a module, e.g.
// "builtfor_example"). params filters them and, with a language, returns the plans'
// details; its zero value filters nothing. Idempotent: retried after network
// errors, 429 and 5xx.
func (c *Client) GetProductComponents(ctx context.Context, productID string, params gen.GetProductComponentsParams, opts ...RequestEditorFn) (*Components, error) {
	list, err := invoke[componentList](ctx, c, ops.GetProductComponents, opts,
		func() *ops.FieldError { return ops.CheckGetProductComponents(productID, &params) },
		func(ctx context.Context) (*http.Request, error) {
			return ops.NewGetProductComponentsRequest(ctx, c.server, productID, &params)
		}, "productId", productID)
	if err != nil {
		return nil, err
	}
	return list.split(), nil
}

// AddCustomer creates the customer that will subscribe (only the "user" type can
// be created; its id and email must be the token's). Not idempotent: it is sent
// again only when the server cannot have received it. A customer that already
// exists answers 403 CUSTOMER_ALREADY_EXISTS, which is how to check an unknown
// outcome.
func (c *Client) AddCustomer(ctx context.Context, body gen.CustomerInput, opts ...RequestEditorFn) (*gen.CustomerResponse, error) {
	return invoke[gen.CustomerResponse](ctx, c, ops.AddCustomer, opts,
		func() *ops.FieldError { return ops.CheckAddCustomer(&body) },
		func(ctx context.Context) (*http.Request, error) {
			return ops.NewAddCustomerRequest(ctx, c.server, &body)
		})
}

// AddSubscriptionEstimateForCustomer estimates what a customer would pay for a plan
// (a new subscription, or a change of body.SubscriptionID), taxes and coupon
// included. Nothing changes on the server: idempotent.
func (c *Client) AddSubscriptionEstimateForCustomer(ctx context.Context, body gen.EstimateInput, opts ...RequestEditorFn) (*gen.EstimateResponse, error) {
	return invoke[gen.EstimateResponse](ctx, c, ops.AddSubscriptionEstimateForCustomer, opts,
		func() *ops.FieldError { return ops.CheckAddSubscriptionEstimateForCustomer(&body) },
		func(ctx context.Context) (*http.Request, error) {
			return ops.NewAddSubscriptionEstimateForCustomerRequest(ctx, c.server, &body)
		})
}

// AddSubscriptionChargeAtTerm adds a one-off charge of body.Amount cents, described
// by body.Description, to the next invoice of an active or non-renewing
// subscription. NOT idempotent: each call adds a charge, so it is sent again only
// when the server cannot have received it, and any failure after which the charge
// may have been added wraps ErrOutcomeUnknown.
func (c *Client) AddSubscriptionChargeAtTerm(ctx context.Context, subscriptionID string, body gen.ChargeAtTermInput, opts ...RequestEditorFn) (*gen.ChargeAtTermResponse, error) {
	return invoke[gen.ChargeAtTermResponse](ctx, c, ops.AddSubscriptionChargeAtTerm, opts,
		func() *ops.FieldError { return ops.CheckAddSubscriptionChargeAtTerm(subscriptionID, &body) },
		func(ctx context.Context) (*http.Request, error) {
			return ops.NewAddSubscriptionChargeAtTermRequest(ctx, c.server, subscriptionID, &body)
		}, "subscriptionId", subscriptionID)
}

// SetSubscriptionItemQuantity sets the quantity of a subscription item for the
// next billing cycle (not cumulative: the last value wins). itemID is the item
// price id of the subscription's webhooks (subscription_items[].item_price_id).
// Idempotent: retried after network errors, 429 and 5xx.
func (c *Client) SetSubscriptionItemQuantity(ctx context.Context, subscriptionID, itemID string, body gen.QuantityInput, opts ...RequestEditorFn) (*gen.QuantityResponse, error) {
	return invoke[gen.QuantityResponse](ctx, c, ops.SetSubscriptionItemQuantity, opts,
		func() *ops.FieldError { return ops.CheckSetSubscriptionItemQuantity(subscriptionID, itemID, &body) },
		func(ctx context.Context) (*http.Request, error) {
			return ops.NewSetSubscriptionItemQuantityRequest(ctx, c.server, subscriptionID, itemID, &body)
		}, "subscriptionId", subscriptionID, "subscriptionItemId", itemID)
}

// SetSubscriptionItemUsage adds body.UsageQuantity to the usage of a metered
// subscription item in the current billing period (usage resets at its end).
// NOT idempotent: each call adds, so it is sent again only when the server cannot
// have received it, and any failure after which the usage may have been counted
// wraps ErrOutcomeUnknown.
func (c *Client) SetSubscriptionItemUsage(ctx context.Context, subscriptionID, itemID string, body gen.UsageInput, opts ...RequestEditorFn) (*gen.UsageResponse, error) {
	return invoke[gen.UsageResponse](ctx, c, ops.SetSubscriptionItemUsage, opts,
		func() *ops.FieldError { return ops.CheckSetSubscriptionItemUsage(subscriptionID, itemID, &body) },
		func(ctx context.Context) (*http.Request, error) {
			return ops.NewSetSubscriptionItemUsageRequest(ctx, c.server, subscriptionID, itemID, &body)
		}, "subscriptionId", subscriptionID, "subscriptionItemId", itemID)
}

// UpdateSubscription changes the plan (or the billing period) of a subscription to
// the plan component body.SubscriptionItemID, optionally with a coupon. Idempotent:
// retried after network errors, 429 and 5xx.
func (c *Client) UpdateSubscription(ctx context.Context, subscriptionID string, body gen.SubscriptionUpdateInput, opts ...RequestEditorFn) (*gen.SubscriptionResponse, error) {
	return invoke[gen.SubscriptionResponse](ctx, c, ops.UpdateSubscription, opts,
		func() *ops.FieldError { return ops.CheckUpdateSubscription(subscriptionID, &body) },
		func(ctx context.Context) (*http.Request, error) {
			return ops.NewUpdateSubscriptionRequest(ctx, c.server, subscriptionID, &body)
		}, "subscriptionId", subscriptionID)
}

// GetInvoices returns one page of the invoices params asks for (all its fields but
// Order are required). Invoices iterates over all pages.
func (c *Client) GetInvoices(ctx context.Context, params gen.GetInvoicesParams, opts ...RequestEditorFn) (*gen.InvoiceList, error) {
	list, err := invoke[invoiceList](ctx, c, ops.GetInvoices, opts,
		func() *ops.FieldError { return ops.CheckGetInvoices(&params) },
		func(ctx context.Context) (*http.Request, error) {
			return ops.NewGetInvoicesRequest(ctx, c.server, &params)
		})
	if err != nil {
		return nil, err
	}
	return &gen.InvoiceList{Items: list.Items, Total: *list.Total}, nil
}

// GetInvoiceDownload returns a link to an invoice's PDF and until when it works.
func (c *Client) GetInvoiceDownload(ctx context.Context, invoiceID string, opts ...RequestEditorFn) (*gen.InvoiceDownloadResponse, error) {
	return invoke[gen.InvoiceDownloadResponse](ctx, c, ops.GetInvoiceDownload, opts,
		func() *ops.FieldError { return ops.CheckGetInvoiceDownload(invoiceID) },
		func(ctx context.Context) (*http.Request, error) {
			return ops.NewGetInvoiceDownloadRequest(ctx, c.server, invoiceID)
		}, "invoiceId", invoiceID)
}

// invoke refuses path parameters (name, value pairs in paths) that would not reach
// the server as themselves, then inputs that check (the spec's checks, on unless
// WithRequestValidation(false)) refuses, naming the field: nothing is sent. Then it
// builds the request with build, runs the editors on it and sends it through the
// doer, and decodes the 2xx answer into a T. A body that does not decode was an
// applied call: the error wraps ErrUnexpectedResponse, and ErrOutcomeUnknown when
// the operation is not idempotent.
func invoke[T any](ctx context.Context, c *Client, op *ops.Operation, opts []RequestEditorFn, check func() *ops.FieldError, build func(context.Context) (*http.Request, error), paths ...string) (*T, error) {
	if err := checkPath(op, paths...); err != nil {
		return nil, err
	}
	if c.validate {
		if fe := check(); fe != nil {
			return nil, invalid(op, fe)
		}
	}
	rctx, sent := traceContext(ctx, op)
	req, err := build(rctx)
	if err != nil {
		return nil, &InvalidRequestError{Operation: op.ID, Field: "request", Reason: err.Error(), Err: err}
	}
	setHeaders(req.Header, c.sandbox)
	built, rewind := req.Body, req.GetBody
	for _, edits := range [2][]RequestEditorFn{c.editors, opts} {
		for _, edit := range edits {
			if err := edit(ctx, req); err != nil {
				return nil, fmt.Errorf("billing: %s: request editor: %w", op.ID, err)
			}
		}
	}
	if req.Body != built {
		// An editor replaced the body (an interface comparison that cannot panic:
		// the built body holds a *bytes.Reader): the doer reads the new one.
		rewind = nil
	}
	status, body, err := c.doer.do(ctx, op, req, sent, rewind)
	if err != nil {
		return nil, err
	}
	var out T
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, unknownIf(op, true, fmt.Errorf("billing: %s: %w: %d answer does not decode: %w; the call was carried out", op.ID, ErrUnexpectedResponse, status, err))
	}
	if r, ok := any(&out).(interface{ missing() string }); ok {
		if field := r.missing(); field != "" {
			return nil, unknownIf(op, true, fmt.Errorf("billing: %s: %w: %d answer has no %s, which the spec requires; body %q", op.ID, ErrUnexpectedResponse, status, field, excerpt(body, 200)))
		}
	}
	return &out, nil
}

// invalid is the error of a request that a check refused: nothing was sent.
func invalid(op *ops.Operation, fe *ops.FieldError) error {
	return &InvalidRequestError{Operation: op.ID, Field: fe.Field, Reason: fe.Reason}
}

// checkPath refuses, before anything is built, path parameters (name, value pairs)
// that would not reach the server as themselves: "." and ".." are removed from a
// URL path by every HTTP stack, so the request would address another resource.
// Empty values are left to the spec check, which names them too.
func checkPath(op *ops.Operation, nameValues ...string) error {
	for i := 0; i+1 < len(nameValues); i += 2 {
		if v := nameValues[i+1]; v == "." || v == ".." {
			return &InvalidRequestError{Operation: op.ID, Field: "path parameter " + nameValues[i], Reason: fmt.Sprintf("%q is not a valid id", v)}
		}
	}
	return nil
}
