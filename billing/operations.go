package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// API is the Billing API as *Client offers it: one method per operation of the
// spec, and Invoices. Code that calls Billing can take an API, so that its tests
// can pass a stub of their own instead of a Client (see billingtest for a fake
// server, which tests the client too).
type API interface {
	GetProductComponents(ctx context.Context, productID string, params *gen.GetProductComponentsParams, opts ...RequestEditorFn) (*Components, error)
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
// details; it may be nil. Idempotent: retried after network errors, 429 and 5xx.
func (c *Client) GetProductComponents(ctx context.Context, productID string, params *gen.GetProductComponentsParams, opts ...RequestEditorFn) (*Components, error) {
	const op = "getProductComponents"
	if err := checkPath(op, "productId", productID); err != nil {
		return nil, err
	}
	req, err := gen.NewGetProductComponentsRequest(c.server, productID, params)
	list, err := send[componentList](ctx, c, op, req, err, opts)
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
	const op = "addCustomer"
	req, err := gen.NewAddCustomerRequest(c.server, body)
	return send[gen.CustomerResponse](ctx, c, op, req, err, opts)
}

// AddSubscriptionEstimateForCustomer estimates what a customer would pay for a plan
// (a new subscription, or a change of body.SubscriptionId), taxes and coupon
// included. Nothing changes on the server: idempotent.
func (c *Client) AddSubscriptionEstimateForCustomer(ctx context.Context, body gen.EstimateInput, opts ...RequestEditorFn) (*gen.EstimateResponse, error) {
	const op = "addSubscriptionEstimateForCustomer"
	req, err := gen.NewAddSubscriptionEstimateForCustomerRequest(c.server, body)
	return send[gen.EstimateResponse](ctx, c, op, req, err, opts)
}

// AddSubscriptionChargeAtTerm adds a one-off charge of body.Amount cents, described
// by body.Description, to the next invoice of an active or non-renewing
// subscription. NOT idempotent: each call adds a charge, so it is sent again only
// when the server cannot have received it, and any failure after which the charge
// may have been added wraps ErrOutcomeUnknown.
func (c *Client) AddSubscriptionChargeAtTerm(ctx context.Context, subscriptionID string, body gen.ChargeAtTermInput, opts ...RequestEditorFn) (*gen.ChargeAtTermResponse, error) {
	const op = "addSubscriptionChargeAtTerm"
	if err := checkPath(op, "subscriptionId", subscriptionID); err != nil {
		return nil, err
	}
	req, err := gen.NewAddSubscriptionChargeAtTermRequest(c.server, subscriptionID, body)
	return send[gen.ChargeAtTermResponse](ctx, c, op, req, err, opts)
}

// SetSubscriptionItemQuantity sets the quantity of a subscription item for the
// next billing cycle (not cumulative: the last value wins). itemID is the item
// price id of the subscription's webhooks (subscription_items[].item_price_id).
// Idempotent: retried after network errors, 429 and 5xx.
func (c *Client) SetSubscriptionItemQuantity(ctx context.Context, subscriptionID, itemID string, body gen.QuantityInput, opts ...RequestEditorFn) (*gen.QuantityResponse, error) {
	const op = "setSubscriptionItemQuantity"
	if err := checkPath(op, "subscriptionId", subscriptionID, "subscriptionItemId", itemID); err != nil {
		return nil, err
	}
	req, err := gen.NewSetSubscriptionItemQuantityRequest(c.server, subscriptionID, itemID, body)
	return send[gen.QuantityResponse](ctx, c, op, req, err, opts)
}

// SetSubscriptionItemUsage adds body.UsageQuantity to the usage of a metered
// subscription item in the current billing period (usage resets at its end).
// NOT idempotent: each call adds, so it is sent again only when the server cannot
// have received it, and any failure after which the usage may have been counted
// wraps ErrOutcomeUnknown.
func (c *Client) SetSubscriptionItemUsage(ctx context.Context, subscriptionID, itemID string, body gen.UsageInput, opts ...RequestEditorFn) (*gen.UsageResponse, error) {
	const op = "setSubscriptionItemUsage"
	if err := checkPath(op, "subscriptionId", subscriptionID, "subscriptionItemId", itemID); err != nil {
		return nil, err
	}
	req, err := gen.NewSetSubscriptionItemUsageRequest(c.server, subscriptionID, itemID, body)
	return send[gen.UsageResponse](ctx, c, op, req, err, opts)
}

// UpdateSubscription changes the plan (or the billing period) of a subscription to
// the plan component body.SubscriptionItemId, optionally with a coupon. Idempotent:
// retried after network errors, 429 and 5xx.
func (c *Client) UpdateSubscription(ctx context.Context, subscriptionID string, body gen.SubscriptionUpdateInput, opts ...RequestEditorFn) (*gen.SubscriptionResponse, error) {
	const op = "updateSubscription"
	if err := checkPath(op, "subscriptionId", subscriptionID); err != nil {
		return nil, err
	}
	req, err := gen.NewUpdateSubscriptionRequest(c.server, subscriptionID, body)
	return send[gen.SubscriptionResponse](ctx, c, op, req, err, opts)
}

// GetInvoices returns one page of the invoices params asks for (all its fields but
// Order are required). Invoices iterates over all pages.
func (c *Client) GetInvoices(ctx context.Context, params gen.GetInvoicesParams, opts ...RequestEditorFn) (*gen.InvoiceList, error) {
	const op = "getInvoices"
	req, err := gen.NewGetInvoicesRequest(c.server, &params)
	return send[gen.InvoiceList](ctx, c, op, req, err, opts)
}

// GetInvoiceDownload returns a link to an invoice's PDF and until when it works.
func (c *Client) GetInvoiceDownload(ctx context.Context, invoiceID string, opts ...RequestEditorFn) (*gen.InvoiceDownloadResponse, error) {
	const op = "getInvoiceDownload"
	if err := checkPath(op, "invoiceId", invoiceID); err != nil {
		return nil, err
	}
	req, err := gen.NewGetInvoiceDownloadRequest(c.server, invoiceID)
	return send[gen.InvoiceDownloadResponse](ctx, c, op, req, err, opts)
}

// send runs the editors on req, sends it through the doer and decodes the 2xx
// answer into a T. buildErr is the error of building req: nothing was sent.
// A body that does not decode was an applied call: the error wraps
// ErrUnexpectedResponse, and ErrOutcomeUnknown when the operation adds.
func send[T any](ctx context.Context, c *Client, op string, req *http.Request, buildErr error, opts []RequestEditorFn) (*T, error) {
	if buildErr != nil {
		return nil, &InvalidRequestError{Operation: op, Field: "request", Reason: buildErr.Error(), Err: buildErr}
	}
	req = req.WithContext(ctx)
	dropEmptyQuery(req)
	for _, edit := range c.editors {
		if err := edit(ctx, req); err != nil {
			return nil, fmt.Errorf("billing: %s: request editor: %w", op, err)
		}
	}
	for _, edit := range opts {
		if err := edit(ctx, req); err != nil {
			return nil, fmt.Errorf("billing: %s: request editor: %w", op, err)
		}
	}
	resp, err := c.doer.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body) // in memory (the doer read it): cannot fail
	_ = resp.Body.Close()
	var out T
	if err := json.Unmarshal(body, &out); err != nil {
		err = fmt.Errorf("billing: %s: %w: %d answer does not decode: %w; the call was carried out", op, ErrUnexpectedResponse, resp.StatusCode, err)
		if o := c.doer.router.Op(op); o == nil || !o.Idempotent {
			err = &unknownError{op: op, cause: err}
		}
		return nil, err
	}
	return &out, nil
}

// dropEmptyQuery removes the query parameters that have an empty value. Optional
// parameters are plain values in gen (an empty string means "not set", so callers
// need no pointers), and the generated builder writes them even when empty. No
// parameter of the API gives a meaning to an empty value.
func dropEmptyQuery(req *http.Request) {
	if req.URL.RawQuery == "" {
		return
	}
	q := req.URL.Query()
	dropped := false
	for k, vs := range q {
		if len(vs) == 1 && vs[0] == "" {
			delete(q, k)
			dropped = true
		}
	}
	if dropped {
		req.URL.RawQuery = q.Encode()
	}
}

// checkPath refuses, before anything is built, path parameters (name, value pairs)
// that would not reach the server as themselves: "." and ".." are removed from a
// URL path by every HTTP stack, so the request would address another resource.
// Empty values are left to the spec check, which names them too.
func checkPath(op string, nameValues ...string) error {
	for i := 0; i+1 < len(nameValues); i += 2 {
		if v := nameValues[i+1]; v == "." || v == ".." {
			return &InvalidRequestError{Operation: op, Field: "path parameter " + nameValues[i], Reason: fmt.Sprintf("%q is not a valid id", v)}
		}
	}
	return nil
}
