package billingtest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

func TestSandboxIsolation(t *testing.T) {
	srv := newServer(t)
	c := fullClient(t, srv)
	sub, addon := billingtest.SubscriptionID, billingtest.APICallsAddonID

	// Sandbox by header, then by query parameter.
	if _, err := c.SetSubscriptionItemUsageWithResponse(t.Context(), sub, addon, gen.UsageInput{UsageQuantity: 10}, sandboxHeader); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetSubscriptionItemUsageWithResponse(t.Context(), sub, addon, gen.UsageInput{UsageQuantity: 5}, sandboxQuery); err != nil {
		t.Fatal(err)
	}
	// Live.
	if _, err := c.SetSubscriptionItemUsageWithResponse(t.Context(), sub, addon, gen.UsageInput{UsageQuantity: 1}); err != nil {
		t.Fatal(err)
	}
	// sandbox: false is live.
	falseHeader := func(_ context.Context, req *http.Request) error { req.Header.Set("sandbox", "false"); return nil }
	if _, err := c.SetSubscriptionItemUsageWithResponse(t.Context(), sub, addon, gen.UsageInput{UsageQuantity: 1}, falseHeader); err != nil {
		t.Fatal(err)
	}
	if got := srv.Usage(sub, addon, true); got != 15 {
		t.Errorf("sandbox usage = %v, want 15", got)
	}
	if got := srv.Usage(sub, addon, false); got != 2 {
		t.Errorf("live usage = %v, want 2", got)
	}

	// A sandbox invoice is not in the live store.
	inv, err := srv.CloseBillingPeriod(sub, true)
	if err != nil {
		t.Fatal(err)
	}
	if n, m := len(srv.Invoices(sub, true)), len(srv.Invoices(sub, false)); n != 13 || m != 12 {
		t.Errorf("invoices: %d sandbox, %d live, want 13 and 12", n, m)
	}
	res, err := c.GetInvoiceDownloadWithResponse(t.Context(), inv.InvoiceID)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON404 == nil {
		t.Errorf("live download of a sandbox invoice: status %d, want 404", res.StatusCode())
	}
	res, err = c.GetInvoiceDownloadWithResponse(t.Context(), inv.InvoiceID, sandboxHeader)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON200 == nil {
		t.Errorf("sandbox download: status %d, want 200", res.StatusCode())
	}

	// A customer created in sandbox exists only there.
	cres, err := c.AddCustomerWithResponse(t.Context(),
		gen.CustomerInput{ID: srv.ClientID, Email: "owner@example.com", Locale: gen.En, Type: gen.User}, sandboxQuery)
	if err != nil || cres.JSON201 == nil {
		t.Fatalf("%v %s", err, cres.Body)
	}
	if _, ok := srv.Customer(srv.ClientID, false); ok {
		t.Error("sandbox customer in the live store")
	}
	if _, ok := srv.Customer(srv.ClientID, true); !ok {
		t.Error("sandbox customer not in the sandbox store")
	}
}
