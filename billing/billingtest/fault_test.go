package billingtest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptrace"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

const usageOp = "setSubscriptionItemUsage"

func postUsage(ctx context.Context, c *gen.ClientWithResponses, q float64) (*gen.SetSubscriptionItemUsageResponse, error) {
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
	params := &gen.GetInvoicesParams{Id: billingtest.SubscriptionID, Type: "subscription", Limit: 1}
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
