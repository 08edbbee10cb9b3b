package faultlab_test

import (
	"context"
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
	"github.com/prestashopcorp/billing-sdk-go/internal/faultlab"
)

const usageOp = "setSubscriptionItemUsage"

var usagePath = "/v1/subscriptions/" + billingtest.SubscriptionID + "/items/" + billingtest.APICallsAddonID + "/usage"

// usageRequest is a raw usage call (quantity 5) to base with a token of every
// scope: the tests below look at the bytes on the wire.
func usageRequest(t *testing.T, srv *billingtest.Server, base string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+usagePath, strings.NewReader(`{"usageQuantity": 5}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	tok, err := srv.Client().Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tok.SetAuthHeader(req)
	return req
}

// do sends req with the server's client, not following redirects.
func do(t *testing.T, srv *billingtest.Server, req *http.Request) *http.Response {
	t.Helper()
	c := *srv.HTTPClient()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestAnswer(t *testing.T) {
	srv := billingtest.NewServer(billingtest.WithT(t))
	srv.Fault(usageOp, billingtest.Fault{Respond: faultlab.Answer(http.StatusBadGateway, "", "<html>bad gateway")})
	srv.Fault(usageOp, billingtest.Fault{Respond: faultlab.Answer(http.StatusCreated, "text/html", "<html>ok</html>"), Apply: true})
	for _, want := range []struct {
		status   int
		ct, body string
	}{{502, "application/json", "<html>bad gateway"}, {201, "text/html", "<html>ok</html>"}} {
		res := do(t, srv, usageRequest(t, srv, srv.URL))
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != want.status || res.Header.Get("Content-Type") != want.ct || string(body) != want.body {
			t.Errorf("answer %d %q %q, want %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), body, want.status, want.ct, want.body)
		}
	}
	if a, u := srv.Applied(usageOp), srv.Usage(billingtest.SubscriptionID, billingtest.APICallsAddonID, false); a != 1 || u != 5 {
		t.Errorf("Applied, usage = %d, %v, want 1, 5", a, u)
	}
}

func TestStallReleasedByClient(t *testing.T) {
	srv := billingtest.NewServer(billingtest.WithT(t))
	srv.Fault(usageOp, billingtest.Fault{Respond: faultlab.Stall})
	req := usageRequest(t, srv, srv.URL)
	// The deadline also covers getting a connection and writing the request:
	// it must not end before the server has the call, even on a loaded
	// machine. The stall holds the call until it ends, so it costs only time.
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if res, err := srv.HTTPClient().Do(req.WithContext(ctx)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled call: %v, want context.DeadlineExceeded", err)
		if err == nil {
			_ = res.Body.Close()
		}
	}
	res := do(t, srv, usageRequest(t, srv, srv.URL))
	_ = res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("the call after: %s", res.Status)
	}
	if r, a := srv.Requests(usageOp), srv.Applied(usageOp); r != 2 || a != 1 {
		t.Errorf("Requests, Applied = %d, %d, want 2, 1", r, a)
	}
}

func TestStallReleasedByClose(t *testing.T) {
	srv := billingtest.NewServer()
	srv.Fault(usageOp, billingtest.Fault{Respond: faultlab.Stall})
	req := usageRequest(t, srv, srv.URL)
	written := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(written) }) },
		})
		res, err := srv.HTTPClient().Do(req.WithContext(ctx))
		if err == nil {
			_ = res.Body.Close()
		}
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

func TestTruncate(t *testing.T) {
	for _, opts := range [][]billingtest.Option{nil, {billingtest.WithTLS()}} {
		srv := billingtest.NewServer(append(opts, billingtest.WithT(t))...)
		srv.Fault(usageOp, billingtest.Fault{Respond: faultlab.Truncate, Apply: true})
		res := do(t, srv, usageRequest(t, srv, srv.URL))
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

func TestPad(t *testing.T) {
	srv := billingtest.NewServer(billingtest.WithT(t), billingtest.WithTLS())
	const size = 1 << 20
	srv.Fault(usageOp, billingtest.Fault{Respond: faultlab.Pad(size), Apply: true})
	res := do(t, srv, usageRequest(t, srv, srv.URL))
	var out struct {
		Item struct{ UsageQuantity float64 }
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil || len(body) != size || res.ContentLength != -1 {
		t.Fatalf("read %d bytes (Content-Length %d), %v; want %d", len(body), res.ContentLength, err, size)
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Item.UsageQuantity != 5 {
		t.Errorf("padded body: %+v, %v", out, err)
	}

	// A client that stops reading ends the answer.
	srv.Fault(usageOp, billingtest.Fault{Respond: faultlab.Pad(1 << 40), Apply: true})
	res = do(t, srv, usageRequest(t, srv, srv.URL))
	_, _ = io.CopyN(io.Discard, res.Body, 1<<20)
	_ = res.Body.Close()
	if a := srv.Applied(usageOp); a != 2 {
		t.Errorf("Applied = %d, want 2", a)
	}
}

// Close releases a padded answer that the client stopped reading, over
// HTTP/1.1 and HTTP/2, as it releases a stalled call.
func TestCloseReleasesAnUnreadPaddedAnswer(t *testing.T) {
	for _, opts := range [][]billingtest.Option{nil, {billingtest.WithTLS()}} {
		srv := billingtest.NewServer(opts...)
		srv.Fault(usageOp, billingtest.Fault{Respond: faultlab.Pad(1 << 40), Apply: true})
		res := do(t, srv, usageRequest(t, srv, srv.URL))
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			srv.Close()
		}()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			_ = res.Body.Close() // unblock Close
			<-closed
			t.Errorf("%s: Close still waiting 10 s after it was called, with a padded answer unread", res.Proto)
		}
		_ = res.Body.Close()
	}
}

func TestRedirectToOrigin(t *testing.T) {
	srv := billingtest.NewServer(billingtest.WithT(t), billingtest.WithTLS())
	plain := faultlab.NewOrigin(srv.URL, srv.HTTPClient().Transport, false)
	defer plain.Close()
	other := faultlab.NewOrigin(srv.URL, srv.HTTPClient().Transport, true)
	defer other.Close()
	if !strings.HasPrefix(plain.URL, "http://127.0.0.1:") || !strings.HasPrefix(other.URL, "https://127.0.0.1:") {
		t.Fatalf("origins %s %s", plain.URL, other.URL)
	}
	srv.Fault(usageOp, billingtest.Fault{Respond: faultlab.Redirect(http.StatusTemporaryRedirect, plain.URL+usagePath)})
	res := do(t, srv, usageRequest(t, srv, srv.URL))
	_ = res.Body.Close()
	if res.StatusCode != http.StatusTemporaryRedirect || res.Header.Get("Location") != plain.URL+usagePath {
		t.Errorf("answer %d Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	if a := srv.Applied(usageOp); a != 0 || len(plain.Received()) != 0 {
		t.Errorf("Applied %d, plain origin received %d; want 0, 0", a, len(plain.Received()))
	}

	// An origin serves the same fake, and records what it gets.
	lab, err := faultlab.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	tr := srv.HTTPClient().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs.AddCert(lab.Leaf)
	res, err = (&http.Client{Transport: tr}).Do(usageRequest(t, srv, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)))
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	got := other.Received()
	if res.StatusCode != http.StatusCreated || len(got) != 1 || got[0].Method != http.MethodPost || got[0].Path != usagePath ||
		!strings.HasPrefix(got[0].Header.Get("Authorization"), "Bearer ") {
		t.Errorf("answer %d, received %+v", res.StatusCode, got)
	}
	if a, r := srv.Applied(usageOp), srv.Requests(usageOp); a != 1 || r != 2 {
		t.Errorf("Applied, Requests = %d, %d, want 1, 2", a, r)
	}
	plain.Close()
	if res, err := http.Get(plain.URL + usagePath); err == nil {
		_ = res.Body.Close()
		t.Error("origin still serving after Close")
	}
}

func TestTokenEndpointFaults(t *testing.T) {
	srv := billingtest.NewServer(billingtest.WithT(t))
	tokenReq := func() *http.Request {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.TokenURL(), strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(srv.ClientID, srv.ClientSecret)
		return req
	}
	srv.Fault(billingtest.TokenEndpoint, billingtest.Fault{Respond: faultlab.Redirect(http.StatusFound, "http://127.0.0.1:1/"), Apply: true})
	res := do(t, srv, tokenReq())
	_ = res.Body.Close()
	if res.StatusCode != http.StatusFound || srv.TokenRequests() != 1 {
		t.Errorf("answer %d, token requests %d", res.StatusCode, srv.TokenRequests())
	}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, srv.HTTPClient())
	for name, f := range map[string]billingtest.Fault{
		"truncated":    {Respond: faultlab.Truncate, Apply: true},
		"garbage body": {Respond: faultlab.Answer(http.StatusOK, "", `{"access_token": 42`)},
	} {
		srv.Fault(billingtest.TokenEndpoint, f)
		if _, err := srv.Client().Token(ctx); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	srv.Fault(billingtest.TokenEndpoint, billingtest.Fault{Respond: faultlab.Stall})
	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := srv.Client().Token(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stall: %v, want context.DeadlineExceeded", err)
	}
}
