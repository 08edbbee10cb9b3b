package spec

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/prestashopcorp/billing-sdk-go/internal/ops"
)

// The operation table that oapi-codegen writes into internal/ops is the spec's, as
// kin-openapi reads it: every operation with its method, path, x-idempotent, scopes,
// declared statuses and body media types; and the parameters the typed inputs do not
// carry (those the overlay removes from gen) are ops.EditorParams, optional booleans
// with no empty value allowed, on every operation.
func TestOpsTableIsTheSpecs(t *testing.T) {
	r, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	var want, got []ops.Operation
	for path, item := range r.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := ops.Operation{ID: op.OperationID, Method: method, Path: path}
			o.Idempotent, _ = op.Extensions["x-idempotent"].(bool)
			for _, req := range *op.Security {
				o.Scopes = append(o.Scopes, req["clientCredentials"]...)
			}
			for code := range op.Responses.Map() {
				n, err := strconv.Atoi(code)
				if err != nil {
					t.Errorf("%s: response %q is not a status", op.OperationID, code)
				}
				o.Statuses = append(o.Statuses, n)
			}
			slices.Sort(o.Statuses)
			if op.RequestBody != nil {
				for mt := range op.RequestBody.Value.Content {
					o.BodyTypes = append(o.BodyTypes, mt)
				}
			}
			want = append(want, o)
			var editorParams []ops.Param
			for _, p := range op.Parameters {
				typed := p.Value.In == "path" || p.Value.In == "query" && typedQuery[op.OperationID][p.Value.Name]
				if typed {
					continue
				}
				if p.Value.Required || !p.Value.Schema.Value.Type.Is("boolean") || p.Value.AllowEmptyValue {
					t.Errorf("%s: parameter %s in %s: want an optional boolean with no empty value", op.OperationID, p.Value.Name, p.Value.In)
				}
				editorParams = append(editorParams, ops.Param{In: p.Value.In, Name: p.Value.Name})
			}
			lower := func(ps []ops.Param) []ops.Param {
				out := slices.Clone(ps)
				for i := range out {
					out[i].Name = strings.ToLower(out[i].Name)
				}
				return out
			}
			if diff := cmp.Diff(lower(ops.EditorParams), editorParams); diff != "" {
				t.Errorf("%s: parameters set by editors (-ops +spec):\n%s", op.OperationID, diff)
			}
		}
	}
	for _, o := range r.Ops {
		got = append(got, *o)
	}
	byID := func(a, b ops.Operation) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(want, byID)
	slices.SortFunc(got, byID)
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("operations (-spec +ops):\n%s", diff)
	}
}

// typedQuery are the query parameters of gen's params structs (the typed inputs).
var typedQuery = map[string]map[string]bool{
	"getInvoices":          {"id": true, "type": true, "limit": true, "offset": true, "order": true},
	"getProductComponents": {"lang_iso_code": true, "filter_status": true, "filter_component_type": true, "filter_period_unit": true},
}

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
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
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
			err := r.ValidateRequest(context.Background(), op, req, params)
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
		for _, p := range r.routes[o].Operation.Parameters {
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
