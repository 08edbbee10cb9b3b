package billingtest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/rawclient"
)

const usageOp = "setSubscriptionItemUsage"

func postUsage(ctx context.Context, c *rawclient.ClientWithResponses, q float64) (*rawclient.SetSubscriptionItemUsageResponse, error) {
	return c.SetSubscriptionItemUsageWithResponse(ctx, billingtest.SubscriptionID, billingtest.APICallsAddonID, gen.UsageInput{UsageQuantity: q})
}

func TestFaultStatus(t *testing.T) {
	srv := newServer(t)
	c := fullClient(t, srv)
	srv.Fault(usageOp, billingtest.Fault{Times: 2, Status: http.StatusServiceUnavailable, RetryAfter: "3"})
	srv.Fault(usageOp, billingtest.Fault{Status: http.StatusTooManyRequests})

	for i, want := range []struct {
		status     int
		code       string
		retryAfter string
	}{
		{503, "SERVICE_UNAVAILABLE", "3"},
		{503, "SERVICE_UNAVAILABLE", "3"},
		{429, "TOO_MANY_REQUESTS", ""},
		{201, "", ""},
	} {
		res, err := postUsage(t.Context(), c, 10)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != want.status || res.HTTPResponse.Header.Get("Retry-After") != want.retryAfter {
			t.Fatalf("call %d: %d Retry-After %q, want %d %q", i, res.StatusCode(), res.HTTPResponse.Header.Get("Retry-After"), want.status, want.retryAfter)
		}
		if want.code != "" {
			if e := decodeError(t, res.HTTPResponse.Header.Get("Content-Type"), res.Body); e.ErrorCode != want.code || e.StatusCode != want.status {
				t.Errorf("call %d: error %+v", i, e)
			}
		}
	}
	if r, a, u := srv.Requests(usageOp), srv.Applied(usageOp), srv.Usage(billingtest.SubscriptionID, billingtest.APICallsAddonID, false); r != 4 || a != 1 || u != 10 {
		t.Errorf("Requests, Applied, usage = %d, %d, %v, want 4, 1, 10", r, a, u)
	}
}

func TestFaultUnauthorized(t *testing.T) {
	srv := newServer(t)
	srv.Fault("getInvoices", billingtest.Fault{Status: http.StatusUnauthorized})
	c := fullClient(t, srv)
	params := &gen.GetInvoicesParams{ID: billingtest.SubscriptionID, Type: "subscription", Limit: 1}
	res, err := c.GetInvoicesWithResponse(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON401 == nil || res.JSON401.ErrorCode != "UNAUTHORIZED" {
		t.Errorf("valid token, scripted 401: status %d: %s", res.StatusCode(), res.Body)
	}
	if res, err = c.GetInvoicesWithResponse(t.Context(), params); err != nil || res.JSON200 == nil {
		t.Errorf("next call: %v %d", err, res.StatusCode())
	}
}

func TestFaultDrop(t *testing.T) {
	for _, tt := range []struct {
		apply       bool
		wantApplied int
		wantUsage   float64
	}{
		{false, 0, 0},
		{true, 1, 7},
	} {
		srv := newServer(t)
		c := fullClient(t, srv)
		srv.Fault(usageOp, billingtest.Fault{Drop: true, Apply: tt.apply})
		if _, err := postUsage(t.Context(), c, 7); err == nil {
			t.Errorf("drop, apply %v: no error", tt.apply)
		}
		if r, a, u := srv.Requests(usageOp), srv.Applied(usageOp), srv.Usage(billingtest.SubscriptionID, billingtest.APICallsAddonID, false); r != 1 || a != tt.wantApplied || u != tt.wantUsage {
			t.Errorf("drop, apply %v: Requests, Applied, usage = %d, %d, %v, want 1, %d, %v", tt.apply, r, a, u, tt.wantApplied, tt.wantUsage)
		}
		if res, err := postUsage(t.Context(), c, 1); err != nil || res.JSON201 == nil {
			t.Errorf("drop, apply %v: the call after: %v", tt.apply, err)
		}
	}
}

func TestTokenFaults(t *testing.T) {
	srv := newServer(t)
	cfg := tokenConfig(srv, "invoices.read")
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, srv.HTTPClient())

	srv.Fault(billingtest.TokenEndpoint, billingtest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "1"})
	var re *oauth2.RetrieveError
	if _, err := cfg.Token(ctx); !errors.As(err, &re) || re.Response.StatusCode != 503 || re.ErrorCode != "temporarily_unavailable" ||
		re.Response.Header.Get("Retry-After") != "1" {
		t.Errorf("503 fault: %v", err)
	}

	srv.Fault(billingtest.TokenEndpoint, billingtest.Fault{Drop: true, Apply: true})
	if _, err := cfg.Token(ctx); err == nil {
		t.Error("drop: no error")
	}

	if _, err := cfg.Token(ctx); err != nil {
		t.Errorf("after the faults: %v", err)
	}
	if n := srv.TokenRequests(); n != 3 {
		t.Errorf("TokenRequests = %d, want 3", n)
	}
}

func TestFaultPanics(t *testing.T) {
	srv := newServer(t)
	for name, fn := range map[string]func(){
		"unknown operation":     func() { srv.Fault("setUsage", billingtest.Fault{Status: 500}) },
		"nothing set":           func() { srv.Fault(usageOp, billingtest.Fault{Times: 2}) },
		"status and drop":       func() { srv.Fault(usageOp, billingtest.Fault{Status: 500, Drop: true}) },
		"not a status":          func() { srv.Fault(billingtest.TokenEndpoint, billingtest.Fault{Status: 42}) },
		"negative times":        func() { srv.Fault(billingtest.TokenEndpoint, billingtest.Fault{Status: 500, Times: -1}) },
		"apply alone":           func() { srv.Fault(usageOp, billingtest.Fault{Apply: true}) },
		"retry-after with drop": func() { srv.Fault(usageOp, billingtest.Fault{Drop: true, RetryAfter: "1"}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn()
		}()
	}
}

// usageRequest is a raw usage call with a token of every scope: the tests below
// look at the bytes on the wire, which the generated client hides.
func usageRequest(t *testing.T, srv *billingtest.Server, base string) *http.Request {
	t.Helper()
	req, err := rawclient.NewSetSubscriptionItemUsageRequest(base, billingtest.SubscriptionID, billingtest.APICallsAddonID,
		gen.UsageInput{UsageQuantity: 5})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+fetchToken(t, srv, billingtest.Scopes()...))
	return req.WithContext(t.Context())
}

func TestWithTLS(t *testing.T) {
	srv := newServer(t, billingtest.WithTLS())
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") {
		t.Fatalf("URL = %s", srv.URL)
	}
	res, err := srv.HTTPClient().Do(usageRequest(t, srv, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusCreated || res.ProtoMajor != 2 {
		t.Errorf("answer %s over %s, want 201 over HTTP/2", res.Status, res.Proto)
	}
	// Certificate is what a client of its own trusts.
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	own := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer own.CloseIdleConnections()
	res, err = own.Get(srv.URL + "/v1/products/" + billingtest.ProductID + "/components")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized { // reached the API, without a token
		t.Errorf("status %d, want 401", res.StatusCode)
	}
}

func TestFaultApplyThenStatus(t *testing.T) {
	srv := newServer(t)
	srv.Fault(usageOp, billingtest.Fault{Status: http.StatusBadGateway, Apply: true, Times: 2})
	for _, want := range []struct {
		status int
		ct     string
	}{{502, "application/json"}, {502, "application/json"}} {
		res, err := srv.HTTPClient().Do(usageRequest(t, srv, srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != want.status || res.Header.Get("Content-Type") != want.ct {
			t.Errorf("answer %d %q, want %d %q", res.StatusCode, res.Header.Get("Content-Type"), want.status, want.ct)
		}
	}
	if a, u := srv.Applied(usageOp), srv.Usage(billingtest.SubscriptionID, billingtest.APICallsAddonID, false); a != 2 || u != 10 {
		t.Errorf("Applied, usage = %d, %v, want 2, 10", a, u)
	}
}
