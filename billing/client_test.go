package billing

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// call is one operation called through the Client with valid arguments.
type call struct {
	op         string
	idempotent bool
	do         func(context.Context, *Client, ...RequestEditorFn) error
}

var calls = []call{
	{"getProductComponents", true, func(ctx context.Context, c *Client, e ...RequestEditorFn) error {
		_, err := c.GetProductComponents(ctx, "builtfor_example", gen.GetProductComponentsParams{}, e...)
		return err
	}},
	{"addCustomer", false, func(ctx context.Context, c *Client, e ...RequestEditorFn) error {
		_, err := c.AddCustomer(ctx, gen.CustomerInput{ID: "u", Email: "a@b.co", Locale: gen.Fr, Type: gen.User}, e...)
		return err
	}},
	{"addSubscriptionEstimateForCustomer", true, func(ctx context.Context, c *Client, e ...RequestEditorFn) error {
		_, err := c.AddSubscriptionEstimateForCustomer(ctx, gen.EstimateInput{ComponentID: "c", CustomerID: "u", ProductID: "p"}, e...)
		return err
	}},
	{"addSubscriptionChargeAtTerm", false, func(ctx context.Context, c *Client, e ...RequestEditorFn) error {
		_, err := c.AddSubscriptionChargeAtTerm(ctx, "s", gen.ChargeAtTermInput{Amount: 100, Description: "x"}, e...)
		return err
	}},
	{"setSubscriptionItemQuantity", true, func(ctx context.Context, c *Client, e ...RequestEditorFn) error {
		_, err := c.SetSubscriptionItemQuantity(ctx, "s", "i", gen.QuantityInput{Quantity: 3}, e...)
		return err
	}},
	{"setSubscriptionItemUsage", false, func(ctx context.Context, c *Client, e ...RequestEditorFn) error {
		_, err := c.SetSubscriptionItemUsage(ctx, "s", "i", gen.UsageInput{UsageQuantity: 5}, e...)
		return err
	}},
	{"updateSubscription", true, func(ctx context.Context, c *Client, e ...RequestEditorFn) error {
		_, err := c.UpdateSubscription(ctx, "s", gen.SubscriptionUpdateInput{SubscriptionItemID: "c"}, e...)
		return err
	}},
	{"getInvoices", true, func(ctx context.Context, c *Client, e ...RequestEditorFn) error {
		_, err := c.GetInvoices(ctx, gen.GetInvoicesParams{ID: "s", Type: "subscription", Limit: 10}, e...)
		return err
	}},
	{"getInvoiceDownload", true, func(ctx context.Context, c *Client, e ...RequestEditorFn) error {
		_, err := c.GetInvoiceDownload(ctx, "inv", e...)
		return err
	}},
}

func TestAllOperationsSucceed(t *testing.T) {
	api := newTestAPI(t, ok)
	c, _ := api.client(t)
	for _, tc := range calls {
		if err := tc.do(context.Background(), c); err != nil {
			t.Errorf("%s: %v", tc.op, err)
		}
	}
	if got := api.tokenRequests.Load(); got != 1 {
		t.Errorf("token requests = %d, want 1 (cached)", got)
	}
}

func TestTokenRequest(t *testing.T) {
	var auth, ua, accept string
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		auth, ua, accept = r.Header.Get("Authorization"), r.Header.Get("User-Agent"), r.Header.Get("Accept")
		ok(w, r)
	})
	c, _ := api.client(t, WithScopes(ScopeSubscriptionWriteQuantity, ScopeSubscriptionWrite))
	if err := calls[0].do(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"grant_type": {"client_credentials"},
		"client_id":  {"client-1"},
		"audience":   {"distribution.prestashop.net"},
		"scope":      {"subscription.write.quantity subscription.write"},
	}
	if diff := cmp.Diff(want, api.lastForm); diff != "" {
		t.Errorf("token form (-want +got):\n%s", diff)
	}
	if api.lastUser != "client-1" || api.lastPass != "s3cret" {
		t.Errorf("Basic auth = %q:%q, want client-1:s3cret", api.lastUser, api.lastPass)
	}
	if auth != "Bearer tok-1" {
		t.Errorf("Authorization = %q, want Bearer tok-1", auth)
	}
	if !strings.HasPrefix(ua, "prestashop-billing-go/"+Version) || accept != "application/json" {
		t.Errorf("User-Agent = %q, Accept = %q", ua, accept)
	}
}

func TestOneTokenForConcurrentFirstCalls(t *testing.T) {
	const n = 100
	release := make(chan struct{})
	api := newTestAPI(t, ok)
	// Hold the token endpoint until every goroutine has entered its call.
	tokenHandler := api.Config.Handler
	api.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/token" {
			<-release
		}
		tokenHandler.ServeHTTP(w, r)
	})
	var entered sync.WaitGroup
	entered.Add(n)
	go func() { entered.Wait(); close(release) }()
	c, _ := api.client(t)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Request editors run just before the doer asks for a token.
			errs <- calls[0].do(context.Background(), c, func(context.Context, *http.Request) error {
				entered.Done()
				return nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := api.tokenRequests.Load(); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
	if got := api.apiRequests.Load(); got != n {
		t.Errorf("API requests = %d, want %d", got, n)
	}
}

func TestUnauthorizedRefreshesTokenAndReplaysOnce(t *testing.T) {
	tests := []struct {
		name          string
		accept        string // token the API accepts; "" accepts none
		wantErrStatus int
		wantTokens    int32
		wantRequests  int32
	}{
		{"refused then fresh token accepted", "Bearer tok-2", 0, 2, 2},
		{"refused twice", "", http.StatusUnauthorized, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != tt.accept {
					w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
					writeError(w, 401, "UNAUTHORIZED", "invalid token")
					return
				}
				ok(w, r)
			})
			c, _ := api.client(t)
			// Usage is not idempotent, yet a 401 that says the token was refused is
			// replayed: nothing was applied.
			err := calls[5].do(context.Background(), c)
			var apiErr *APIError
			switch {
			case tt.wantErrStatus == 0 && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErrStatus != 0 && (!errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantErrStatus):
				t.Fatalf("error = %v, want APIError %d", err, tt.wantErrStatus)
			}
			if errors.Is(err, ErrOutcomeUnknown) {
				t.Errorf("a 401 must not be reported as outcome unknown: %v", err)
			}
			if got := api.tokenRequests.Load(); got != tt.wantTokens {
				t.Errorf("token requests = %d, want %d", got, tt.wantTokens)
			}
			if got := api.apiRequests.Load(); got != tt.wantRequests {
				t.Errorf("API requests = %d, want %d", got, tt.wantRequests)
			}
		})
	}
}

func TestSandbox(t *testing.T) {
	tests := []struct {
		name    string
		client  []Option
		request []RequestEditorFn
		want    string
	}{
		{"off by default", nil, nil, ""},
		{"on for the client", []Option{WithSandbox(true)}, nil, "true"},
		{"on for one request", nil, []RequestEditorFn{Sandbox(true)}, "true"},
		{"off for one request of a sandbox client", []Option{WithSandbox(true)}, []RequestEditorFn{Sandbox(false)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := "unset"
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				got = r.Header.Get("sandbox")
				ok(w, r)
			})
			c, _ := api.client(t, tt.client...)
			if err := calls[0].do(context.Background(), c, tt.request...); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("sandbox header = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRefusesPlainHTTPToRemoteHosts(t *testing.T) {
	tests := []struct {
		opts    []Option
		wantErr string
	}{
		{[]Option{WithBaseURL("http://api.example.com")}, "plain http is only allowed to a loopback host"},
		{[]Option{WithTokenURL("http://auth.example.com/token")}, "plain http is only allowed to a loopback host"},
		{[]Option{WithBaseURL("ftp://x")}, "want an absolute https URL"},
		{[]Option{WithBaseURL("http://127.0.0.1:8080")}, ""},
		{[]Option{WithBaseURL("http://localhost:8080"), WithTokenURL("http://[::1]:9/token")}, ""},
	}
	for _, tt := range tests {
		opts := append([]Option{WithClientCredentials("id", "secret")}, tt.opts...)
		_, err := NewClient(opts...)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("NewClient(%v) error = %v, want %q", tt.opts, err, tt.wantErr)
		}
	}
	if _, err := NewClient(); err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Errorf("NewClient() without credentials: error = %v", err)
	}
}

// closedURL returns a loopback URL where nothing listens: connections are refused.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}
