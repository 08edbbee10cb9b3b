package billingtest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

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

func TestFaultBody(t *testing.T) {
	srv := newServer(t)
	srv.Fault("getProductComponents", billingtest.Fault{Status: http.StatusBadGateway, Body: "<html>bad gateway"})
	res, err := fullClient(t, srv).GetProductComponentsWithResponse(t.Context(), billingtest.ProductID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != http.StatusBadGateway || string(res.Body) != "<html>bad gateway" {
		t.Errorf("answer %d %q", res.StatusCode(), res.Body)
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
		mode        billingtest.DropMode
		wantApplied int
		wantUsage   float64
	}{
		{billingtest.DropBeforeApply, 0, 0},
		{billingtest.DropAfterApply, 1, 7},
	} {
		srv := newServer(t)
		c := fullClient(t, srv)
		srv.Fault(usageOp, billingtest.Fault{Drop: tt.mode})
		if _, err := postUsage(t.Context(), c, 7); err == nil {
			t.Errorf("drop %d: no error", tt.mode)
		}
		if r, a, u := srv.Requests(usageOp), srv.Applied(usageOp), srv.Usage(billingtest.SubscriptionID, billingtest.APICallsAddonID, false); r != 1 || a != tt.wantApplied || u != tt.wantUsage {
			t.Errorf("drop %d: Requests, Applied, usage = %d, %d, %v, want 1, %d, %v", tt.mode, r, a, u, tt.wantApplied, tt.wantUsage)
		}
		if res, err := postUsage(t.Context(), c, 1); err != nil || res.JSON201 == nil {
			t.Errorf("drop %d: the call after: %v", tt.mode, err)
		}
	}
}

func TestFaultStallReleasedByClient(t *testing.T) {
	srv := newServer(t)
	c := fullClient(t, srv)
	srv.Fault(usageOp, billingtest.Fault{Stall: true})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := postUsage(ctx, c, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled call: %v, want context.DeadlineExceeded", err)
	}
	if res, err := postUsage(t.Context(), c, 1); err != nil || res.JSON201 == nil {
		t.Fatalf("the call after: %v", err)
	}
	if r, a := srv.Requests(usageOp), srv.Applied(usageOp); r != 2 || a != 1 {
		t.Errorf("Requests, Applied = %d, %d, want 2, 1", r, a)
	}
}

func TestFaultStallReleasedByClose(t *testing.T) {
	srv := billingtest.NewServer()
	c := fullClient(t, srv)
	srv.Fault(usageOp, billingtest.Fault{Stall: true})
	written := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(written) }) },
		})
		_, err := postUsage(ctx, c, 1)
		done <- err
	}()
	<-written
	srv.Close() // must not wait for the stalled call's client
	if err := <-done; err == nil {
		t.Error("stalled call: no error after Close")
	}
	if a := srv.Applied(usageOp); a != 0 {
		t.Errorf("Applied = %d, want 0", a)
	}
}

func TestTokenFaults(t *testing.T) {
	srv := newServer(t)
	cfg := tokenConfig(srv, "invoices.read")
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, srv.HTTPClient())

	srv.TokenFault(billingtest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "1"})
	var re *oauth2.RetrieveError
	if _, err := cfg.Token(ctx); !errors.As(err, &re) || re.Response.StatusCode != 503 || re.ErrorCode != "temporarily_unavailable" ||
		re.Response.Header.Get("Retry-After") != "1" {
		t.Errorf("503 fault: %v", err)
	}

	srv.TokenFault(billingtest.Fault{Status: http.StatusOK, Body: `{"access_token": 42`})
	if _, err := cfg.Token(ctx); err == nil {
		t.Error("garbage body: no error")
	}

	srv.TokenFault(billingtest.Fault{Stall: true})
	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := cfg.Token(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stall: %v, want context.DeadlineExceeded", err)
	}

	srv.TokenFault(billingtest.Fault{Drop: billingtest.DropAfterApply})
	if _, err := cfg.Token(ctx); err == nil {
		t.Error("drop: no error")
	}

	if _, err := cfg.Token(ctx); err != nil {
		t.Errorf("after the faults: %v", err)
	}
	if n := srv.TokenRequests(); n != 5 {
		t.Errorf("TokenRequests = %d, want 5", n)
	}
}

func TestFaultPanics(t *testing.T) {
	srv := newServer(t)
	for name, fn := range map[string]func(){
		"unknown operation": func() { srv.Fault("setUsage", billingtest.Fault{Status: 500}) },
		"nothing set":       func() { srv.Fault(usageOp, billingtest.Fault{Times: 2}) },
		"status and stall":  func() { srv.Fault(usageOp, billingtest.Fault{Status: 500, Stall: true}) },
		"not a status":      func() { srv.TokenFault(billingtest.Fault{Status: 42}) },
		"negative times":    func() { srv.TokenFault(billingtest.Fault{Status: 500, Times: -1}) },
		"unknown drop mode": func() { srv.TokenFault(billingtest.Fault{Drop: 7}) },
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

// noRedirects is the server's client, not following redirects.
func noRedirects(srv *billingtest.Server) *http.Client {
	c := *srv.HTTPClient()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
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
	res, err = own.Get(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/v1/products/" + billingtest.ProductID + "/components")
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
	srv.Fault(usageOp, billingtest.Fault{Status: http.StatusCreated, Apply: true, Body: "<html>ok</html>", ContentType: "text/html"})
	srv.Fault(usageOp, billingtest.Fault{Status: http.StatusBadGateway, Apply: true})
	for _, want := range []struct {
		status int
		ct     string
	}{{201, "text/html"}, {502, "application/json"}} {
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

func TestFaultTruncate(t *testing.T) {
	for _, opts := range [][]billingtest.Option{nil, {billingtest.WithTLS()}} {
		srv := newServer(t, opts...)
		srv.Fault(usageOp, billingtest.Fault{Truncate: true})
		res, err := srv.HTTPClient().Do(usageRequest(t, srv, srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusCreated || err == nil || res.ContentLength != int64(2*len(body)) && res.ContentLength != int64(2*len(body)+1) {
			t.Errorf("%s: %d, Content-Length %d, read %q, %v; want 201, half of the body, an error", res.Proto, res.StatusCode, res.ContentLength, body, err)
		}
		if a := srv.Applied(usageOp); a != 1 {
			t.Errorf("Applied = %d, want 1", a)
		}
	}
}

func TestFaultPad(t *testing.T) {
	srv := newServer(t, billingtest.WithTLS())
	const size = 1 << 20
	srv.Fault(usageOp, billingtest.Fault{Pad: size})
	res, err := srv.HTTPClient().Do(usageRequest(t, srv, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	var out gen.UsageResponse
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil || len(body) != size || res.ContentLength != -1 {
		t.Fatalf("read %d bytes (Content-Length %d), %v; want %d", len(body), res.ContentLength, err, size)
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Item.UsageQuantity != 5 {
		t.Errorf("padded body: %+v, %v", out, err)
	}

	// A client that stops reading ends the answer.
	srv.Fault(usageOp, billingtest.Fault{Pad: 1 << 40})
	res, err = srv.HTTPClient().Do(usageRequest(t, srv, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.CopyN(io.Discard, res.Body, 1<<20)
	_ = res.Body.Close()
	if a := srv.Applied(usageOp); a != 2 {
		t.Errorf("Applied = %d, want 2", a)
	}
}

func TestFaultRedirectToOrigin(t *testing.T) {
	srv := newServer(t, billingtest.WithTLS())
	plain := srv.NewOrigin(false)
	other := srv.NewOrigin(true)
	if !strings.HasPrefix(plain.URL, "http://127.0.0.1:") || !strings.HasPrefix(other.URL, "https://127.0.0.1:") {
		t.Fatalf("origins %s %s", plain.URL, other.URL)
	}
	path := "/v1/subscriptions/" + billingtest.SubscriptionID + "/items/" + billingtest.APICallsAddonID + "/usage"
	srv.Fault(usageOp, billingtest.Fault{Status: http.StatusTemporaryRedirect, Location: plain.URL + path})
	res, err := noRedirects(srv).Do(usageRequest(t, srv, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusTemporaryRedirect || res.Header.Get("Location") != plain.URL+path {
		t.Errorf("answer %d Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	if a := srv.Applied(usageOp); a != 0 || len(plain.Received()) != 0 {
		t.Errorf("Applied %d, plain origin received %d; want 0, 0", a, len(plain.Received()))
	}

	// An origin serves the same fake, and records what it gets.
	res, err = srv.HTTPClient().Do(usageRequest(t, srv, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)))
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	got := other.Received()
	if res.StatusCode != http.StatusCreated || len(got) != 1 || got[0].Method != http.MethodPost || got[0].Path != path ||
		!strings.HasPrefix(got[0].Header.Get("Authorization"), "Bearer ") {
		t.Errorf("answer %d, received %+v", res.StatusCode, got)
	}
	if a, r := srv.Applied(usageOp), srv.Requests(usageOp); a != 1 || r != 2 {
		t.Errorf("Applied, Requests = %d, %d, want 1, 2", a, r)
	}
	srv.Close() // closes the origins too
	if res, err := http.Get(plain.URL + path); err == nil {
		_ = res.Body.Close()
		t.Error("origin still serving after Close")
	}
}

func TestTokenFaultApply(t *testing.T) {
	srv := newServer(t)
	srv.TokenFault(billingtest.Fault{Status: http.StatusFound, Location: "http://127.0.0.1:1/", Apply: true})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.TokenURL(), strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(srv.ClientID, srv.ClientSecret)
	res, err := noRedirects(srv).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusFound || srv.TokenRequests() != 1 {
		t.Errorf("answer %d, token requests %d", res.StatusCode, srv.TokenRequests())
	}
	srv.TokenFault(billingtest.Fault{Truncate: true})
	if _, err := tokenConfig(srv).Token(context.WithValue(t.Context(), oauth2.HTTPClient, srv.HTTPClient())); err == nil {
		t.Error("truncated token answer: no error")
	}
}

func TestFaultPanicsNewFields(t *testing.T) {
	srv := newServer(t)
	for name, f := range map[string]billingtest.Fault{
		"apply with drop":        {Drop: billingtest.DropBeforeApply, Apply: true},
		"apply alone":            {Apply: true},
		"location without 3xx":   {Status: 503, Location: "http://127.0.0.1/"},
		"body without status":    {Stall: true, Body: "x"},
		"truncate and pad":       {Truncate: true, Pad: 10},
		"negative pad":           {Pad: -1},
		"retry-after with stall": {Stall: true, RetryAfter: "1"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			srv.Fault(usageOp, f)
		}()
	}
}
