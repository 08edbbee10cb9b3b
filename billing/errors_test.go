package billing

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
)

func TestAPIError(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		ctype    string
		body     string
		want     APIError
		wantText string
	}{
		{
			name: "spec error body", status: 404, ctype: "application/json",
			body:     `{"statusCode":404,"errorCode":"SUBSCRIPTION_NOT_FOUND","message":"Subscription s not found"}`,
			want:     APIError{Operation: "setSubscriptionItemQuantity", StatusCode: 404, ErrorCode: "SUBSCRIPTION_NOT_FOUND", Message: "Subscription s not found"},
			wantText: "billing: setSubscriptionItemQuantity: 404 Not Found: SUBSCRIPTION_NOT_FOUND: Subscription s not found",
		},
		{
			name: "message only", status: 403, ctype: "application/json",
			body:     `{"message":"missing scope"}`,
			want:     APIError{Operation: "setSubscriptionItemQuantity", StatusCode: 403, Message: "missing scope"},
			wantText: "billing: setSubscriptionItemQuantity: 403 Forbidden: missing scope",
		},
		{
			name: "html from a proxy", status: 400, ctype: "text/html",
			body:     `<html><body>Bad request</body></html>`,
			want:     APIError{Operation: "setSubscriptionItemQuantity", StatusCode: 400, Body: []byte(`<html><body>Bad request</body></html>`)},
			wantText: `billing: setSubscriptionItemQuantity: 400 Bad Request: body "<html><body>Bad request</body></html>"`,
		},
		{
			name: "empty body", status: 404, ctype: "",
			want:     APIError{Operation: "setSubscriptionItemQuantity", StatusCode: 404, Body: []byte{}},
			wantText: "billing: setSubscriptionItemQuantity: 404 Not Found",
		},
		{
			name: "huge body is bounded", status: 400, ctype: "text/plain",
			body:     strings.Repeat("x", 1<<20),
			want:     APIError{Operation: "setSubscriptionItemQuantity", StatusCode: 400, Body: []byte(strings.Repeat("x", maxErrorBody))},
			wantText: `billing: setSubscriptionItemQuantity: 400 Bad Request: body "` + strings.Repeat("x", 200) + `..."`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			if tt.ctype != "application/json" {
				api.allowOffSpec(contracttest.OffSpecAnswers("an error body that is not JSON, as a proxy in front of the API may give"))
			}
			c, _ := api.client(t)
			err := calls[4].do(context.Background(), c)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			tt.want.Attempts = 1                                                                                                   // one attempt: a 4xx is not retried
			if diff := cmp.Diff(&tt.want, apiErr, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(APIError{}, "Header")); diff != "" { // Header: see observe_test.go
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
			if got := err.Error(); got != tt.wantText {
				t.Errorf("Error() = %q\nwant      %q", got, tt.wantText)
			}
		})
	}
}

func TestInvalidRequestNothingSent(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		do   func(*Client) error
		want InvalidRequestError
	}{
		{"empty subscription id", func(c *Client) error {
			_, err := c.SetSubscriptionItemUsage(ctx, "", "i", gen.UsageInput{UsageQuantity: 1})
			return err
		}, InvalidRequestError{Operation: "setSubscriptionItemUsage", Field: "path parameter subscriptionId"}},
		{"empty invoice id", func(c *Client) error {
			_, err := c.GetInvoiceDownload(ctx, "")
			return err
		}, InvalidRequestError{Operation: "getInvoiceDownload", Field: "path parameter invoiceId"}},
		{"quantity zero", func(c *Client) error {
			_, err := c.SetSubscriptionItemQuantity(ctx, "s", "i", gen.QuantityInput{Quantity: 0})
			return err
		}, InvalidRequestError{Operation: "setSubscriptionItemQuantity", Field: "quantity", Reason: "number must be more than 0"}},
		{"usage negative", func(c *Client) error {
			_, err := c.SetSubscriptionItemUsage(ctx, "s", "i", gen.UsageInput{UsageQuantity: -3})
			return err
		}, InvalidRequestError{Operation: "setSubscriptionItemUsage", Field: "usageQuantity", Reason: "number must be more than 0"}},
		{"negative amount", func(c *Client) error {
			_, err := c.AddSubscriptionChargeAtTerm(ctx, "s", gen.ChargeAtTermInput{Amount: -1, Description: "x"})
			return err
		}, InvalidRequestError{Operation: "addSubscriptionChargeAtTerm", Field: "amount", Reason: "number must be at least 0"}},
		{"missing description", func(c *Client) error {
			_, err := c.AddSubscriptionChargeAtTerm(ctx, "s", gen.ChargeAtTermInput{Amount: 100})
			return err
		}, InvalidRequestError{Operation: "addSubscriptionChargeAtTerm", Field: "description", Reason: "minimum string length is 1"}},
		{"locale outside the enum", func(c *Client) error {
			_, err := c.AddCustomer(ctx, gen.CustomerInput{ID: "u", Email: "a@b.co", Locale: "xx", Type: gen.User})
			return err
		}, InvalidRequestError{Operation: "addCustomer", Field: "locale"}},
		{"filter outside the enum", func(c *Client) error {
			bad := gen.ComponentStatus("gone")
			_, err := c.GetProductComponents(ctx, "p", gen.GetProductComponentsParams{FilterStatus: bad})
			return err
		}, InvalidRequestError{Operation: "getProductComponents", Field: "query parameter filter_status"}},
		{"empty type", func(c *Client) error {
			_, err := c.GetInvoices(ctx, gen.GetInvoicesParams{ID: "s", Limit: 10})
			return err
		}, InvalidRequestError{Operation: "getInvoices", Field: "query parameter type"}},
		{"no params", func(c *Client) error {
			_, err := c.GetInvoices(ctx, gen.GetInvoicesParams{})
			return err
		}, InvalidRequestError{Operation: "getInvoices", Field: "query parameter id", Reason: "value is required but missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTestAPI(t, ok)
			c, _ := api.client(t)
			err := tt.do(c)
			var got *InvalidRequestError
			if !errors.As(err, &got) {
				t.Fatalf("error = %v, want *InvalidRequestError", err)
			}
			ignore := cmpopts.IgnoreFields(InvalidRequestError{}, "Err")
			if tt.want.Reason == "" {
				ignore = cmpopts.IgnoreFields(InvalidRequestError{}, "Err", "Reason")
			}
			if diff := cmp.Diff(&tt.want, got, ignore); diff != "" {
				t.Errorf("error %q (-want +got):\n%s", err, diff)
			}
			if !strings.Contains(err.Error(), "nothing sent") {
				t.Errorf("error %q does not say nothing was sent", err)
			}
			if n := api.apiRequests.Load() + api.tokenRequests.Load(); n != 0 {
				t.Errorf("%d requests reached the server, want 0", n)
			}
		})
	}
}

func TestRequestValidationOff(t *testing.T) {
	var status int
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		status = 400
		writeError(w, 400, "BAD_REQUEST", "usageQuantity must be greater than 0")
	}).allowOffSpec(contracttest.OffSpecRequests("client-side checks are off and the usage is 0"))
	c, _ := api.client(t, WithRequestValidation(false))
	_, err := c.SetSubscriptionItemUsage(context.Background(), "s", "i", gen.UsageInput{UsageQuantity: 0})
	var apiErr *APIError
	if status != 400 || !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Fatalf("error = %v, want the server's 400", err)
	}
}

func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"wrong secret", 401, `{"error":"invalid_client","error_description":"Client authentication failed"}`, "invalid_client"},
		{"scope refused", 400, `{"error":"invalid_scope","error_description":"The requested scope is invalid"}`, "invalid_scope"},
		{"no access token", 200, `{"token_type":"bearer","expires_in":3600}`, "access_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTestAPI(t, ok)
			token := api.Config.Handler
			api.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/oauth2/token" {
					api.tokenRequests.Add(1)
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tt.status)
					w.Write([]byte(tt.body))
					return
				}
				token.ServeHTTP(w, r)
			})
			c, _ := api.client(t)
			err := calls[0].do(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "access token") {
				t.Fatalf("error = %v, want a token error mentioning %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the client secret: %v", err)
			}
			if got := api.tokenRequests.Load(); got != 1 {
				t.Errorf("token requests = %d, want 1 (never retried in a loop)", got)
			}
			if got := api.apiRequests.Load(); got != 0 {
				t.Errorf("API requests = %d, want 0", got)
			}
		})
	}
}

func TestUnexpectedSuccess(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ctype  string
		want   string
	}{
		{"undeclared status", 200, "application/json", `billing: setSubscriptionItemUsage: outcome unknown, not retried: unexpected success response: 200 answer, the spec declares [201 400 401 403 404]; body "<p>ok</p>"; the call was carried out`},
		{"not JSON", 201, "text/html", `billing: setSubscriptionItemUsage: outcome unknown, not retried: unexpected success response: 201 answer with Content-Type "text/html", want JSON; body "<p>ok</p>"; the call was carried out`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				w.Write([]byte("<p>ok</p>"))
			}).allowOffSpec(contracttest.OffSpecAnswers("a 2xx the spec does not describe is what this test is about"))
			c, _ := api.client(t)
			err := calls[5].do(context.Background(), c) // usage: declares 201
			if !errors.Is(err, ErrUnexpectedResponse) || !errors.Is(err, ErrOutcomeUnknown) || err.Error() != tt.want {
				t.Fatalf("error = %v, want ErrUnexpectedResponse and ErrOutcomeUnknown with %q", err, tt.want)
			}
			if n := api.apiRequests.Load(); n != 1 {
				t.Errorf("requests = %d, want 1 (a success is never replayed)", n)
			}
		})
	}
}
