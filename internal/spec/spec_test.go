package spec

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
)

func TestOperations(t *testing.T) {
	r, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Method, Path string
		Idempotent   bool
		Scopes       []string
	}
	got := map[string]row{}
	for _, o := range r.Ops {
		got[o.ID] = row{o.Method, o.Path, o.Idempotent, o.Scopes}
	}
	want := map[string]row{
		"getProductComponents":               {"GET", "/v1/products/{productId}/components", true, nil},
		"addCustomer":                        {"POST", "/v1/customers", false, nil},
		"addSubscriptionEstimateForCustomer": {"POST", "/v1/estimates", true, []string{"customer.write.estimate"}},
		"addSubscriptionChargeAtTerm":        {"POST", "/v1/subscriptions/{subscriptionId}/charge_at_term", false, []string{"subscription.write.charge_at_term"}},
		"setSubscriptionItemQuantity":        {"PUT", "/v1/subscriptions/{subscriptionId}/items/{subscriptionItemId}/quantity", true, []string{"subscription.write.quantity"}},
		"setSubscriptionItemUsage":           {"POST", "/v1/subscriptions/{subscriptionId}/items/{subscriptionItemId}/usage", false, []string{"subscription.write.usage"}},
		"updateSubscription":                 {"PATCH", "/v1/subscriptions/{subscriptionId}", true, []string{"subscription.write"}},
		"getInvoices":                        {"GET", "/v1/invoices", true, []string{"invoices.read"}},
		"getInvoiceDownload":                 {"GET", "/v1/invoices/{invoiceId}/download", true, []string{"invoices.read"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}
}

func TestFind(t *testing.T) {
	r, _ := Load()
	tests := []struct {
		method, path string
		wantID       string
		wantParams   map[string]string
	}{
		{"GET", "/v1/products/builtfor_example/components", "getProductComponents", map[string]string{"productId": "builtfor_example"}},
		{"GET", "/prefix/v1/invoices", "getInvoices", nil},
		{"PUT", "/v1/subscriptions/a%2Fb/items/x%20y/quantity", "setSubscriptionItemQuantity", map[string]string{"subscriptionId": "a/b", "subscriptionItemId": "x y"}},
		{"POST", "/v1/subscriptions//items/i/usage", "setSubscriptionItemUsage", map[string]string{"subscriptionId": "", "subscriptionItemId": "i"}},
		{"PATCH", "/v1/subscriptions/s1", "updateSubscription", map[string]string{"subscriptionId": "s1"}},
		{"DELETE", "/v1/subscriptions/s1", "", nil},
		{"GET", "/v2/invoices", "", nil},
	}
	for _, tt := range tests {
		op, params, ok := r.Find(tt.method, tt.path)
		id := ""
		if ok {
			id = op.ID
		}
		if id != tt.wantID {
			t.Errorf("Find(%s %s) = %q, want %q", tt.method, tt.path, id, tt.wantID)
			continue
		}
		if diff := cmp.Diff(tt.wantParams, params); ok && diff != "" {
			t.Errorf("Find(%s %s) params (-want +got):\n%s", tt.method, tt.path, diff)
		}
	}
}

func TestValidateRequest(t *testing.T) {
	r, _ := Load()
	tests := []struct {
		name, method, path, body string
		wantErr                  string // "" = valid
	}{
		{"usage ok", "POST", "/v1/subscriptions/s/items/i/usage", `{"usageQuantity":2}`, ""},
		{"usage zero", "POST", "/v1/subscriptions/s/items/i/usage", `{"usageQuantity":0}`, "usageQuantity: number must be more than 0"},
		{"quantity negative", "PUT", "/v1/subscriptions/s/items/i/quantity", `{"quantity":-1}`, "quantity: number must be more than 0"},
		{"empty subscription id", "POST", "/v1/subscriptions//items/i/usage", `{"usageQuantity":2}`, "path parameter subscriptionId: "},
		{"charge negative", "POST", "/v1/subscriptions/s/charge_at_term", `{"amount":-5,"description":"x"}`, "amount: number must be at least 0"},
		{"charge no description", "POST", "/v1/subscriptions/s/charge_at_term", `{"amount":5}`, `description: property "description" is missing`},
		{"customer bad locale", "POST", "/v1/customers", `{"id":"u","email":"a@b.co","locale":"xx","type":"user"}`, "locale: value is not one of the allowed values"},
		{"invoices missing limit", "GET", "/v1/invoices?id=s&type=subscription&offset=0", ``, "query parameter limit: value is required but missing"},
		{"components bad filter", "GET", "/v1/products/p/components?filter_status=gone", ``, "query parameter filter_status: value is not one of the allowed values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req *http.Request
			if tt.body != "" {
				req = httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
				req.Header.Set("Content-Type", "application/json")
			} else {
				req = httptest.NewRequest(tt.method, tt.path, nil)
			}
			op, params, ok := r.Find(req.Method, req.URL.EscapedPath())
			if !ok {
				t.Fatal("no route")
			}
			err := op.ValidateRequest(context.Background(), req, params)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

// The vendored spec is valid OpenAPI 3.0 and every example matches its schema.
func TestSpecIsValid(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile("../../openapi/billing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatal(err)
	}
}

// Every number of the source schema is a Float (OpenAPI number), never an Int:
// amounts, totals, timestamps, statusCode, limit and offset. So the spec declares
// no integer, and every number is a double: float32 is not exact past 16777216
// cents, and an int64 refuses 1.5e9.
func TestNumbersAreDouble(t *testing.T) {
	r, _ := Load()
	seen := map[*openapi3.Schema]bool{}
	var walk func(path string, s *openapi3.SchemaRef)
	walk = func(path string, s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil || seen[s.Value] {
			return
		}
		seen[s.Value] = true
		switch {
		case s.Value.Type.Is("integer"):
			t.Errorf("%s: type integer (the source schema has only Float numbers)", path)
		case s.Value.Type.Is("number") && s.Value.Format != "double":
			t.Errorf("%s: type number without format double (float32 in Go)", path)
		}
		for name, p := range s.Value.Properties {
			walk(path+"."+name, p)
		}
		walk(path+"[]", s.Value.Items)
		for _, o := range s.Value.OneOf {
			walk(path, o)
		}
	}
	for name, s := range r.Doc.Components.Schemas {
		walk(name, s)
	}
	for name, p := range r.Doc.Components.Parameters {
		walk("parameter "+name, p.Value.Schema)
	}
	numbers := 0
	for _, o := range r.Ops {
		for _, p := range o.route.Operation.Parameters {
			if p.Value.Schema != nil && p.Value.Schema.Value.Type.Is("number") {
				numbers++
			}
			walk(o.ID+" parameter "+p.Value.Name, p.Value.Schema)
		}
	}
	if numbers != 2 { // getInvoices' limit and offset
		t.Errorf("%d number parameters, want 2 (limit, offset)", numbers)
	}
}
