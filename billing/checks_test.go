package billing

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/spec"
)

// The client's request checks are hand-written (internal/ops/checks.go); the tests
// below prove that they refuse exactly what openapi3filter refuses, naming the same
// field for the same reason, so that the spec stays their single source. A number
// JSON cannot carry (NaN, an infinity), which openapi3filter never sees, they refuse
// naming its field.
//
// Each call runs twice through an in-memory transport that validates every request
// it receives with openapi3filter (internal/spec, the validator the client used
// before): once with the client's checks off, which shows openapi3filter's verdict
// on the request the inputs encode to, and once with them on. The two must agree.

// oracle is a transport that validates each request with openapi3filter and answers
// the operation's first 2xx with an empty JSON object.
type oracle struct {
	router *spec.Router
	mu     sync.Mutex
	seen   bool
	err    error // openapi3filter's verdict on the last request
}

func (o *oracle) RoundTrip(req *http.Request) (*http.Response, error) {
	op, params, ok := o.router.Find(req.Method, req.URL.EscapedPath())
	if !ok {
		return nil, errors.New("oracle: no operation for " + req.Method + " " + req.URL.Path)
	}
	err := o.router.ValidateRequest(req.Context(), op, req, params)
	o.mu.Lock()
	o.seen, o.err = true, err
	o.mu.Unlock()
	if req.Body != nil {
		_ = req.Body.Close()
	}
	status := 0
	for _, s := range op.Statuses {
		if s < 300 {
			status = s
			break
		}
	}
	return &http.Response{
		StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		// The smallest answer every operation decodes: lists need their total.
		Body: io.NopCloser(strings.NewReader(`{"total":0}`)), ContentLength: 11, Request: req,
	}, nil
}

// verdict runs call against a client with or without its checks, and returns what
// refused the request: the client's *InvalidRequestError, openapi3filter's
// *spec.FieldError (checks off), or nil when the request passed both.
func (o *oracle) verdict(t testing.TB, validate bool, call func(*Client) error) (field, reason string, refused bool) {
	t.Helper()
	c, err := NewClient(
		WithBaseURL("http://127.0.0.1:1"),
		WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})),
		WithHTTPClient(&http.Client{Transport: o}),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 1}),
		WithRequestValidation(validate),
		WithSandbox(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	o.mu.Lock()
	o.seen, o.err = false, nil
	o.mu.Unlock()
	err = call(c)
	o.mu.Lock()
	seen, kinErr := o.seen, o.err
	o.mu.Unlock()
	var ie *InvalidRequestError
	switch {
	case errors.As(err, &ie):
		if seen {
			t.Fatalf("refused with %v after it was sent", err)
		}
		if ue := (*json.UnsupportedValueError)(nil); errors.As(err, &ue) {
			return unencodable, ie.Reason, true // a NaN or an infinity: the builder fails
		}
		return ie.Field, ie.Reason, true
	case err != nil:
		t.Fatalf("call failed: %v", err)
	case !seen:
		t.Fatal("nothing was sent, and no error")
	case kinErr != nil:
		var fe *spec.FieldError
		if !errors.As(kinErr, &fe) {
			t.Fatalf("openapi3filter: %v", kinErr)
		}
		return fe.Field, fe.Reason, true
	}
	return "", "", false
}

// unencodable is the verdict on inputs that the request builder cannot encode (a
// NaN or an infinity in a JSON body), with the checks off.
const unencodable = "(unencodable)"

// agree checks that the client's checks and openapi3filter agree on call, and
// returns their verdict.
func (o *oracle) agree(t testing.TB, call func(*Client) error) (field, reason string, refused bool) {
	t.Helper()
	wf, wr, wrefused := o.verdict(t, false, call) // openapi3filter, or a build error
	o.mu.Lock()
	o.seen = false
	o.mu.Unlock()
	gf, gr, grefused := o.verdict(t, true, call)
	o.mu.Lock()
	sent, kinErr := o.seen, o.err
	o.mu.Unlock()
	if sent && kinErr != nil {
		t.Errorf("the client sent a request openapi3filter refuses: %v", kinErr)
	}
	if wf == unencodable {
		// openapi3filter never sees a number JSON cannot carry: the checks must
		// refuse it before building, naming the field.
		if !grefused || gf == "" || gf == "request" || gf == unencodable {
			t.Errorf("a NaN or an infinity: checks on refused %v, %q: %q; want a refusal naming the field", grefused, gf, gr)
		}
		return gf, gr, grefused
	}
	if wf != gf || wr != gr || wrefused != grefused {
		t.Errorf("checks off (openapi3filter): refused %v, %q: %q\nchecks on (internal/ops):   refused %v, %q: %q", wrefused, wf, wr, grefused, gf, gr)
	}
	return gf, gr, grefused
}

func newOracle(t testing.TB) *oracle {
	t.Helper()
	r, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	return &oracle{router: r}
}

func editor(fn func(*http.Request)) RequestEditorFn {
	return func(_ context.Context, r *http.Request) error { fn(r); return nil }
}

func TestChecksAgreeWithOpenapi3filter(t *testing.T) {
	ctx := context.Background()
	o := newOracle(t)
	components := func(id string, p gen.GetProductComponentsParams, opts ...RequestEditorFn) func(*Client) error {
		return func(c *Client) error { _, err := c.GetProductComponents(ctx, id, p, opts...); return err }
	}
	customer := func(in gen.CustomerInput) func(*Client) error {
		return func(c *Client) error { _, err := c.AddCustomer(ctx, in); return err }
	}
	estimate := func(in gen.EstimateInput) func(*Client) error {
		return func(c *Client) error { _, err := c.AddSubscriptionEstimateForCustomer(ctx, in); return err }
	}
	charge := func(sub string, in gen.ChargeAtTermInput) func(*Client) error {
		return func(c *Client) error { _, err := c.AddSubscriptionChargeAtTerm(ctx, sub, in); return err }
	}
	quantity := func(sub, item string, q float64) func(*Client) error {
		return func(c *Client) error {
			_, err := c.SetSubscriptionItemQuantity(ctx, sub, item, gen.QuantityInput{Quantity: q})
			return err
		}
	}
	usage := func(sub, item string, q float64, opts ...RequestEditorFn) func(*Client) error {
		return func(c *Client) error {
			_, err := c.SetSubscriptionItemUsage(ctx, sub, item, gen.UsageInput{UsageQuantity: q}, opts...)
			return err
		}
	}
	update := func(sub string, in gen.SubscriptionUpdateInput) func(*Client) error {
		return func(c *Client) error { _, err := c.UpdateSubscription(ctx, sub, in); return err }
	}
	invoices := func(p gen.GetInvoicesParams, opts ...RequestEditorFn) func(*Client) error {
		return func(c *Client) error { _, err := c.GetInvoices(ctx, p, opts...); return err }
	}
	download := func(id string) func(*Client) error {
		return func(c *Client) error { _, err := c.GetInvoiceDownload(ctx, id); return err }
	}
	okCustomer := gen.CustomerInput{ID: "u-1", Email: "merchant@example.com", Locale: gen.Fr, Type: gen.User}
	okEstimate := gen.EstimateInput{ComponentID: "c", CustomerID: "u", ProductID: "p"}
	okInvoices := gen.GetInvoicesParams{ID: "s", Type: "subscription", Limit: 10}

	tests := []struct {
		name  string
		call  func(*Client) error
		field string // "" when the request is valid
	}{
		{"components", components("builtfor_example", gen.GetProductComponentsParams{}), ""},
		{"components every filter", components("p", gen.GetProductComponentsParams{LangIsoCode: gen.De, FilterStatus: gen.ComponentStatusArchived, FilterComponentType: gen.ComponentTypeCharge, FilterPeriodUnit: gen.PeriodUnitYear}), ""},
		{"components odd id", components("a/b c%d?é", gen.GetProductComponentsParams{}), ""},
		{"components empty id", components("", gen.GetProductComponentsParams{}), "path parameter productId"},
		{"components lang", components("p", gen.GetProductComponentsParams{LangIsoCode: "xx"}), "query parameter lang_iso_code"},
		{"components status", components("p", gen.GetProductComponentsParams{FilterStatus: "gone"}), "query parameter filter_status"},
		{"components type", components("p", gen.GetProductComponentsParams{FilterComponentType: "Plan"}), "query parameter filter_component_type"},
		{"components period", components("p", gen.GetProductComponentsParams{FilterPeriodUnit: "week"}), "query parameter filter_period_unit"},
		{"components empty id and bad filter", components("", gen.GetProductComponentsParams{FilterStatus: "gone"}), "path parameter productId"},

		{"customer", customer(okCustomer), ""},
		{"customer empty id", customer(gen.CustomerInput{Email: "a@b.co", Locale: gen.En, Type: gen.User}), "id"},
		{"customer empty locale", customer(gen.CustomerInput{ID: "u", Email: "a@b.co", Type: gen.User}), "locale"},
		{"customer locale", customer(gen.CustomerInput{ID: "u", Email: "a@b.co", Locale: "FR", Type: gen.User}), "locale"},
		{"customer type", customer(gen.CustomerInput{ID: "u", Email: "a@b.co", Locale: gen.Fr, Type: "admin"}), "type"},
		{"customer email", customer(gen.CustomerInput{ID: "u", Email: "not an address", Locale: gen.Fr, Type: gen.User}), "request"},
		{"customer all wrong", customer(gen.CustomerInput{Email: "a@b.co"}), "id"},

		{"estimate", estimate(okEstimate), ""},
		{"estimate full", estimate(gen.EstimateInput{ComponentID: "c", CustomerID: "u", ProductID: "p", Quantity: 2.5, SubscriptionID: "s",
			Coupon: &gen.CouponInput{CouponCode: "WELCOME10", IsCurrentlyApplied: true}}), ""},
		{"estimate empty component", estimate(gen.EstimateInput{CustomerID: "u", ProductID: "p"}), "componentId"},
		{"estimate empty customer", estimate(gen.EstimateInput{ComponentID: "c", ProductID: "p"}), "customerId"},
		{"estimate empty product", estimate(gen.EstimateInput{ComponentID: "c", CustomerID: "u"}), "productId"},
		{"estimate negative quantity", estimate(gen.EstimateInput{ComponentID: "c", CustomerID: "u", ProductID: "p", Quantity: -1}), "quantity"},
		{"estimate empty coupon", estimate(gen.EstimateInput{ComponentID: "c", CustomerID: "u", ProductID: "p", Coupon: &gen.CouponInput{}}), "coupon.couponCode"},
		{"estimate empty coupon and customer", estimate(gen.EstimateInput{ComponentID: "c", ProductID: "p", Coupon: &gen.CouponInput{}}), "coupon.couponCode"},
		{"estimate NaN quantity", estimate(gen.EstimateInput{ComponentID: "c", CustomerID: "u", ProductID: "p", Quantity: math.NaN()}), "quantity"},
		{"estimate all wrong", estimate(gen.EstimateInput{Quantity: -1, Coupon: &gen.CouponInput{}}), "componentId"},

		{"charge", charge("s", gen.ChargeAtTermInput{Amount: 1500, Description: "Onboarding"}), ""},
		{"charge zero", charge("s", gen.ChargeAtTermInput{Amount: 0, Description: "free"}), ""},
		{"charge minus zero", charge("s", gen.ChargeAtTermInput{Amount: math.Copysign(0, -1), Description: "x"}), ""},
		{"charge negative", charge("s", gen.ChargeAtTermInput{Amount: -1, Description: "x"}), "amount"},
		{"charge no description", charge("s", gen.ChargeAtTermInput{Amount: 1}), "description"},
		{"charge both", charge("s", gen.ChargeAtTermInput{Amount: -1}), "amount"},
		{"charge empty subscription", charge("", gen.ChargeAtTermInput{Amount: -1}), "path parameter subscriptionId"},
		{"charge NaN", charge("s", gen.ChargeAtTermInput{Amount: math.NaN(), Description: "x"}), "amount"},
		{"charge infinite", charge("s", gen.ChargeAtTermInput{Amount: math.Inf(1), Description: "x"}), "amount"},

		{"quantity", quantity("s", "i", 12), ""},
		{"quantity tiny", quantity("s", "i", 5e-324), ""},
		{"quantity zero", quantity("s", "i", 0), "quantity"},
		{"quantity negative", quantity("s", "i", -1), "quantity"},
		{"quantity empty item", quantity("s", "", 1), "path parameter subscriptionItemId"},
		{"quantity empty ids", quantity("", "", 0), "path parameter subscriptionId"},

		{"usage", usage("s", "i", 250), ""},
		{"usage zero", usage("s", "i", 0), "usageQuantity"},
		{"usage negative", usage("s", "i", -3), "usageQuantity"},
		{"usage infinite", usage("s", "i", math.Inf(1)), "usageQuantity"},
		{"usage NaN", usage("s", "i", math.NaN()), "usageQuantity"},
		{"quantity infinite", quantity("s", "i", math.Inf(1)), "quantity"},
		{"quantity minus infinity", quantity("s", "i", math.Inf(-1)), "quantity"},
		{"usage empty item", usage("s", "", 1), "path parameter subscriptionItemId"},

		{"update", update("s", gen.SubscriptionUpdateInput{SubscriptionItemID: "p-EUR-Yearly"}), ""},
		{"update with coupon", update("s", gen.SubscriptionUpdateInput{SubscriptionItemID: "p", CouponCode: "X"}), ""},
		{"update empty item", update("s", gen.SubscriptionUpdateInput{CouponCode: "X"}), "subscriptionItemId"},
		{"update empty subscription", update("", gen.SubscriptionUpdateInput{}), "path parameter subscriptionId"},

		{"invoices", invoices(okInvoices), ""},
		{"invoices every parameter", invoices(gen.GetInvoicesParams{ID: "s&x=1", Type: "t y", Limit: -5, Offset: 1e300, Order: "desc"}), ""},
		{"invoices no parameters", invoices(gen.GetInvoicesParams{}), "query parameter id"},
		{"invoices empty type", invoices(gen.GetInvoicesParams{ID: "s", Limit: 1}), "query parameter type"},
		{"invoices NaN limit", invoices(gen.GetInvoicesParams{ID: "s", Type: "t", Limit: math.NaN()}), "query parameter limit"},
		{"invoices infinite offset", invoices(gen.GetInvoicesParams{ID: "s", Type: "t", Offset: math.Inf(-1)}), "query parameter offset"},

		{"download", download("INV-2026-00042"), ""},
		{"download empty", download(""), "path parameter invoiceId"},

		// What request editors may set: the declared parameters the typed inputs do
		// not carry, and the body's media type.
		{"sandbox header yes", usage("s", "i", 1, editor(func(r *http.Request) { r.Header.Set("sandbox", "yes") })), "header parameter sandbox"},
		{"sandbox header TRUE", usage("s", "i", 1, editor(func(r *http.Request) { r.Header.Set("sandbox", "TRUE") })), ""},
		{"sandbox header 0", usage("s", "i", 1, Sandbox(false), editor(func(r *http.Request) { r.Header.Set("sandbox", "0") })), ""},
		{"sandbox query", usage("s", "i", 1, editor(func(r *http.Request) { r.URL.RawQuery = "sandbox=maybe" })), "query parameter sandbox"},
		{"sandbox query escaped", components("p", gen.GetProductComponentsParams{}, editor(func(r *http.Request) { r.URL.RawQuery = "sand%62ox=maybe" })), "query parameter sandbox"},
		{"sandbox query empty", components("p", gen.GetProductComponentsParams{}, editor(func(r *http.Request) { r.URL.RawQuery = "sandbox=" })), "query parameter sandbox"},
		{"sandbox query empty then not", components("p", gen.GetProductComponentsParams{}, editor(func(r *http.Request) { r.URL.RawQuery = "sandbox=&sandbox=maybe" })), "query parameter sandbox"},
		{"sandbox query empty then true", components("p", gen.GetProductComponentsParams{}, editor(func(r *http.Request) { r.URL.RawQuery = "sandbox=&sandbox=1" })), ""},
		{"sandbox header empty", usage("s", "i", 1, editor(func(r *http.Request) { r.Header.Set("sandbox", "") })), "header parameter sandbox"},
		{"sandbox header twice", usage("s", "i", 1, editor(func(r *http.Request) { r.Header.Add("sandbox", "maybe") })), ""},
		{"sandbox header not canonical", usage("s", "i", 1, editor(func(r *http.Request) { r.Header["sandbox"] = []string{"maybe"} })), ""},
		{"sandbox query true", invoices(okInvoices, editor(func(r *http.Request) { r.URL.RawQuery += "&sandbox=true" })), ""},
		{"sandbox query twice", invoices(okInvoices, editor(func(r *http.Request) { r.URL.RawQuery += "&sandbox=true&sandbox=maybe" })), ""},
		{"other query parameter", invoices(okInvoices, editor(func(r *http.Request) { r.URL.RawQuery += "&x=%zz" })), ""},
		{"content type text", usage("s", "i", 1, editor(func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") })), "body"},
		{"content type none", usage("s", "i", 1, editor(func(r *http.Request) { r.Header.Del("Content-Type") })), "body"},
		{"content type charset", usage("s", "i", 1, editor(func(r *http.Request) { r.Header.Set("Content-Type", "application/json; charset=utf-8") })), ""},
		{"content type case", usage("s", "i", 1, editor(func(r *http.Request) { r.Header.Set("Content-Type", " Application/JSON") })), ""},
		{"content type json suffix", usage("s", "i", 1, editor(func(r *http.Request) { r.Header.Set("Content-Type", "application/problem+json") })), "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			field, reason, refused := o.agree(t, tt.call)
			if refused != (tt.field != "") || field != tt.field {
				t.Errorf("verdict = %q: %q, want a refusal on %q (none if empty)", field, reason, tt.field)
			}
		})
	}
}

// Fuzzed inputs: the client's checks and openapi3filter agree on every operation
// that takes them.
func FuzzChecksAgreeWithOpenapi3filter(f *testing.F) {
	f.Add("s", "i", 1.0, 0.0)
	f.Add("", "fr", 0.0, -1.0)
	f.Add(".", "..", math.Inf(1), math.NaN())
	f.Add("a/b?c#d", "x\xffy", math.Copysign(0, -1), 5e-324)
	f.Add("%zz", "&sandbox=maybe", 1e300, -1e-300)
	f.Fuzz(func(t *testing.T, s1, s2 string, n1, n2 float64) {
		ctx := context.Background()
		o := newOracle(t)
		calls := []func(*Client) error{
			func(c *Client) error {
				_, err := c.GetProductComponents(ctx, s1, gen.GetProductComponentsParams{LangIsoCode: gen.Locale(s2), FilterStatus: gen.ComponentStatus(s1)})
				return err
			},
			func(c *Client) error {
				_, err := c.AddCustomer(ctx, gen.CustomerInput{ID: s1, Email: "a@b.co", Locale: gen.Locale(s2), Type: gen.CustomerType(s1)})
				return err
			},
			func(c *Client) error {
				_, err := c.AddSubscriptionEstimateForCustomer(ctx, gen.EstimateInput{ComponentID: s1, CustomerID: s2, ProductID: s1, Quantity: n1,
					Coupon: &gen.CouponInput{CouponCode: s2}})
				return err
			},
			func(c *Client) error {
				_, err := c.AddSubscriptionChargeAtTerm(ctx, s1, gen.ChargeAtTermInput{Amount: n1, Description: s2})
				return err
			},
			func(c *Client) error {
				_, err := c.SetSubscriptionItemQuantity(ctx, s1, s2, gen.QuantityInput{Quantity: n1})
				return err
			},
			func(c *Client) error {
				_, err := c.SetSubscriptionItemUsage(ctx, s2, s1, gen.UsageInput{UsageQuantity: n2})
				return err
			},
			func(c *Client) error {
				_, err := c.UpdateSubscription(ctx, s1, gen.SubscriptionUpdateInput{SubscriptionItemID: s2, CouponCode: s1})
				return err
			},
			func(c *Client) error {
				_, err := c.GetInvoices(ctx, gen.GetInvoicesParams{ID: s1, Type: s2, Limit: n1, Offset: n2, Order: s1})
				return err
			},
			func(c *Client) error {
				_, err := c.GetInvoiceDownload(ctx, s2)
				return err
			},
		}
		for _, call := range calls {
			o.agree(t, call)
		}
	})
}
