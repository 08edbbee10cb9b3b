package contract_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
)

// breakHeader asks the upstream of the proxy test for an answer that breaks the
// spec instead of the fake's: the control that shows Prism's check can fail.
const breakHeader = "X-Contract-Break"

// Prism as a validating proxy in front of billingtest: every answer of the fake,
// to each of the 9 operations, success and refusal, passes Prism's checks (no
// sl-violations header; with --errors a violation would also be a 500).
func TestPrismProxy(t *testing.T) {
	t.Parallel()
	srv := billingtest.NewServer(billingtest.WithT(t))
	fake, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(fake)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(breakHeader) != "" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"item":{"downloadUrl":"https://example.com/x.pdf","validTill":"soon"}}`)
			return
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(upstream.Close)
	p := startPrism(t, "proxy", "--errors", specPath, upstream.URL)

	w := &wire{}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	w.base = tr
	client := func(opts ...billing.Option) *billing.Client {
		c, err := billing.NewClient(append([]billing.Option{
			billing.WithBaseURL(p.URL),
			billing.WithTokenURL(srv.TokenURL()), // tokens straight from the fake
			billing.WithClientCredentials(srv.ClientID, srv.ClientSecret),
			billing.WithHTTPClient(&http.Client{Transport: checked(t)(w), Timeout: 30 * time.Second}),
			billing.WithRetryPolicy(onePass),
			billing.WithSandbox(true),
		}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := client()
	seeded := ids{
		product:      billingtest.ProductID,
		customer:     srv.ClientID, // a new customer must be the token's subject
		plan:         billingtest.StandardYearlyPlanID,
		subscription: billingtest.SubscriptionID,
		quantityItem: billingtest.UsersPlanID,
		usageItem:    billingtest.APICallsAddonID,
		invoice:      "INV-2025-00001",
	}
	unknown := ids{
		product:      "builtfor_unknown",
		customer:     srv.ClientID, // exists by then: 403 CUSTOMER_ALREADY_EXISTS
		plan:         "builtfor_example-unknown",
		subscription: "unknown-subscription",
		quantityItem: billingtest.UsersPlanID,
		usageItem:    billingtest.APICallsAddonID,
		invoice:      "INV-0000-00000",
	}
	answers := 0
	for _, pass := range []struct {
		name string
		ids  ids
		ok   bool
	}{{"success", seeded, true}, {"refusal", unknown, false}} {
		for _, op := range operations(pass.ids) {
			t.Run(pass.name+"/"+op.id, func(t *testing.T) {
				_, err := op.call(t.Context(), c)
				var apiErr *billing.APIError
				switch {
				case pass.ok && err != nil:
					t.Fatalf("%s: %v", op.id, err)
				case !pass.ok && !errors.As(err, &apiErr):
					t.Fatalf("%s: error %v, want *billing.APIError", op.id, err)
				case !pass.ok && apiErr.StatusCode != 404 && apiErr.StatusCode != 403:
					t.Errorf("%s: %v, want the fake's 404 (403 for the existing customer)", op.id, err)
				}
				for _, ex := range w.take() {
					if !ex.api {
						continue // the token request went to the fake directly
					}
					answers++
					if ex.violations != "" {
						t.Errorf("%s: %d answer of the fake breaks the spec for Prism: %s\nbody: %s", ex.op, ex.status, ex.violations, ex.body)
					}
				}
			})
		}
	}
	t.Run("control: an answer that breaks the spec", func(t *testing.T) {
		c := client(billing.WithRequestEditors(func(_ context.Context, r *http.Request) error {
			r.Header.Set(breakHeader, "1")
			return nil
		}))
		_, err := operationOf(seeded, "getInvoiceDownload").call(t.Context(), c)
		var apiErr *billing.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
			t.Errorf("error = %v, want Prism's 500", err)
		}
		ex := w.take()
		if len(ex) == 0 || !strings.Contains(ex[len(ex)-1].violations, "validTill") {
			t.Errorf("exchanges %+v, want sl-violations naming validTill", ex)
		}
	})
	t.Logf("proxy: %d answers of billingtest through Prism, 0 sl-violations", answers)
}
