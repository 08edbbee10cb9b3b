package billingtest_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

func TestInvalidRequests(t *testing.T) {
	srv := newServer(t)
	tok := fetchToken(t, srv, billingtest.Scopes()...)
	sub := "/v1/subscriptions/" + billingtest.SubscriptionID
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		wantMessage              string // the error message starts with it
	}{
		{"usage zero", "POST", sub + "/items/" + billingtest.APICallsAddonID + "/usage", `{"usageQuantity":0}`, nil, "usageQuantity: "},
		{"usage missing", "POST", sub + "/items/" + billingtest.APICallsAddonID + "/usage", `{}`, nil, "usageQuantity: "},
		{"usage not JSON", "POST", sub + "/items/" + billingtest.APICallsAddonID + "/usage", `{"usageQuantity":`, nil, "body: "},
		{"quantity negative", "PUT", sub + "/items/" + billingtest.UsersPlanID + "/quantity", `{"quantity":-1}`, nil, "quantity: "},
		{"empty subscription id", "POST", "/v1/subscriptions//items/x/usage", `{"usageQuantity":1}`, nil, "path parameter subscriptionId: "},
		{"charge without description", "POST", sub + "/charge_at_term", `{"amount":100,"description":""}`, nil, "description: "},
		{"update without item", "PATCH", sub, `{}`, nil, "subscriptionItemId: "},
		{"customer bad locale (no 400 in spec)", "POST", "/v1/customers", `{"id":"x","email":"a@b.c","locale":"xx","type":"user"}`, nil, "locale: "},
		{"customer bad email", "POST", "/v1/customers", `{"id":"x","email":"not an email","locale":"fr","type":"user"}`, nil, "email: "},
		{"estimate without customer (no 400 in spec)", "POST", "/v1/estimates", `{"componentId":"c","productId":"p"}`, nil, "customerId: "},
		{"invoices without limit (no 400 in spec)", "GET", "/v1/invoices?id=s&type=subscription&offset=0", "", nil, "query parameter limit: "},
		{"invoices limit not a number", "GET", "/v1/invoices?id=s&type=subscription&offset=0&limit=ten", "", nil, "query parameter limit: "},
		{"bad filter", "GET", "/v1/products/p/components?filter_status=gone", "", nil, "query parameter filter_status: "},
		{"sandbox header not a boolean", "GET", "/v1/products/p/components", "", map[string]string{"sandbox": "yes"}, "header parameter sandbox: "},
		{"sandbox query not a boolean", "GET", "/v1/invoices/i/download?sandbox=maybe", "", nil, "query parameter sandbox: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			res, err := srv.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400: %s", res.StatusCode, b)
			}
			e := decodeError(t, res.Header.Get("Content-Type"), b)
			if e.StatusCode != 400 || e.ErrorCode != "BAD_REQUEST" || !strings.HasPrefix(e.Message, tt.wantMessage) {
				t.Errorf("error = %+v, want 400 BAD_REQUEST %q...", e, tt.wantMessage)
			}
		})
	}
	if n := srv.Applied("setSubscriptionItemUsage"); n != 0 {
		t.Errorf("Applied = %d, want 0", n)
	}
}

// TestInvalidUsageWithGeneratedClient sends usageQuantity 0 with the generated
// client's raw method, as a buggy caller would.
func TestInvalidUsageWithGeneratedClient(t *testing.T) {
	srv := newServer(t)
	c := fullClient(t, srv)
	res, err := c.SetSubscriptionItemUsageWithBodyWithResponse(t.Context(), billingtest.SubscriptionID, billingtest.APICallsAddonID,
		"application/json", strings.NewReader(`{"usageQuantity":0}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON400 == nil {
		t.Fatalf("status %d, want 400: %s", res.StatusCode(), res.Body)
	}
	if got, want := res.JSON400.Message, "usageQuantity: number must be more than 0"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if u := srv.Usage(billingtest.SubscriptionID, billingtest.APICallsAddonID, false); u != 0 {
		t.Errorf("usage = %v, want 0", u)
	}
}

func TestUnknownRoutes(t *testing.T) {
	srv := newServer(t)
	tok := fetchToken(t, srv)
	for _, tt := range []struct{ method, path string }{
		{"GET", "/v2/invoices"},
		{"DELETE", "/v1/subscriptions/" + billingtest.SubscriptionID},
		{"GET", "/prefix/v1/invoices?id=s&type=subscription&limit=1&offset=0"},
		{"GET", "/"},
		{"POST", "/invoices/INV-2025-00001.pdf"},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := srv.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: status %d, want 404", tt.method, tt.path, res.StatusCode)
			continue
		}
		if e := decodeError(t, res.Header.Get("Content-Type"), b); e.ErrorCode != "NOT_FOUND" {
			t.Errorf("%s %s: error %+v", tt.method, tt.path, e)
		}
	}
}

// recordingT records the errors the Server reports through WithT.
type recordingT struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingT) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, format)
}

// brokenSeed has a plan with a negative price: listing it breaks the spec.
func brokenSeed() billingtest.Seed {
	seed := billingtest.DefaultSeed()
	seed.Plans[0].Price = -5.0
	return seed
}

func TestViolationAnswers500WithoutT(t *testing.T) {
	srv := billingtest.NewServer(billingtest.WithSeed(brokenSeed()))
	defer srv.Close()
	res, err := fullClient(t, srv).GetProductComponentsWithResponse(t.Context(), billingtest.ProductID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500: %s", res.StatusCode(), res.Body)
	}
	e := decodeError(t, res.HTTPResponse.Header.Get("Content-Type"), res.Body)
	if e.ErrorCode != "INVALID_RESPONSE" || !strings.Contains(e.Message, "items.0") || !strings.Contains(e.Message, "getProductComponents") {
		t.Errorf("error = %+v, want one naming getProductComponents and items.0", e)
	}
}

func TestViolationFailsTestWithT(t *testing.T) {
	rt := &recordingT{TB: t}
	srv := billingtest.NewServer(billingtest.WithSeed(brokenSeed()), billingtest.WithT(rt))
	res, err := fullClient(t, srv).GetProductComponentsWithResponse(t.Context(), billingtest.ProductID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != http.StatusOK {
		t.Errorf("status = %d, want the fake's own (invalid) 200", res.StatusCode())
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if len(rt.errs) != 1 {
		t.Errorf("reported %d errors, want 1", len(rt.errs))
	}
}

func TestNoViolationsOnErrorsTheSpecDeclares(t *testing.T) {
	srv := billingtest.NewServer() // a violation would answer 500
	defer srv.Close()
	c := fullClient(t, srv)
	res, err := c.GetProductComponentsWithResponse(t.Context(), "builtfor_unknown", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON404 == nil {
		t.Errorf("status %d, want 404: %s", res.StatusCode(), res.Body)
	}
	r2, err := c.GetInvoicesWithResponse(t.Context(), &gen.GetInvoicesParams{ID: "nope", Type: "subscription", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r2.JSON404 == nil {
		t.Errorf("status %d, want 404: %s", r2.StatusCode(), r2.Body)
	}
}
