package billingtest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/fakeclock"
)

func invoiceIDs(ns ...int) []string {
	var ids []string
	for _, n := range ns {
		ids = append(ids, fmt.Sprintf("INV-2025-%05d", n))
	}
	return ids
}

func TestGetInvoicesPagination(t *testing.T) {
	srv := newServer(t)
	c := fullClient(t, srv)
	tests := []struct {
		name          string
		limit, offset float64
		order         string
		want          []string
	}{
		{"first page, newest first", 5, 0, "", invoiceIDs(12, 11, 10, 9, 8)},
		{"second page", 5, 5, "", invoiceIDs(7, 6, 5, 4, 3)},
		{"last page", 5, 10, "", invoiceIDs(2, 1)},
		{"past the end", 5, 12, "", nil},
		{"asc", 3, 0, "asc", invoiceIDs(1, 2, 3)},
		{"DESC", 2, 1, "DESC", invoiceIDs(11, 10)},
		{"all", 100, 0, "asc", invoiceIDs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)},
		// limit and offset are JSON numbers with no minimum (Floats in the source
		// schema): the fake accepts any, truncating fractions.
		{"fractions", 2.5, 1.9, "", invoiceIDs(11, 10)},
		{"exponent", 2e0, 1e1, "", invoiceIDs(2, 1)},
		{"negative offset", 2, -3, "", invoiceIDs(12, 11)},
		{"zero limit", 0, 0, "", nil},
		{"negative limit", -1, 0, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.GetInvoicesWithResponse(t.Context(), &gen.GetInvoicesParams{
				ID: billingtest.SubscriptionID, Type: "subscription", Limit: tt.limit, Offset: tt.offset, Order: tt.order,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.JSON200 == nil {
				t.Fatalf("status %d: %s", res.StatusCode(), res.Body)
			}
			var got []string
			for _, inv := range res.JSON200.Items {
				got = append(got, inv.InvoiceID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("invoices (-want +got):\n%s", diff)
			}
			if res.JSON200.Total != 12 {
				t.Errorf("total = %v, want 12", res.JSON200.Total)
			}
		})
	}
}

func TestGetInvoicesRefusals(t *testing.T) {
	srv := newServer(t)
	c := fullClient(t, srv)
	for _, tt := range []struct {
		name       string
		params     gen.GetInvoicesParams
		wantStatus int
	}{
		{"type shop", gen.GetInvoicesParams{ID: billingtest.SubscriptionID, Type: "shop", Limit: 1}, 400},
		{"order sideways", gen.GetInvoicesParams{ID: billingtest.SubscriptionID, Type: "subscription", Limit: 1, Order: "sideways"}, 400},
		{"unknown subscription", gen.GetInvoicesParams{ID: "nope", Type: "subscription", Limit: 1}, 404},
	} {
		res, err := c.GetInvoicesWithResponse(t.Context(), &tt.params)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != tt.wantStatus {
			t.Errorf("%s: status %d, want %d", tt.name, res.StatusCode(), tt.wantStatus)
			continue
		}
		decodeError(t, res.HTTPResponse.Header.Get("Content-Type"), res.Body)
	}
}

func TestGetInvoiceDownload(t *testing.T) {
	clk := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	srv := newServer(t, billingtest.WithClock(clk.Now))
	c := fullClient(t, srv)
	res, err := c.GetInvoiceDownloadWithResponse(t.Context(), "INV-2025-00003")
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON200 == nil {
		t.Fatalf("status %d: %s", res.StatusCode(), res.Body)
	}
	link := res.JSON200.Item
	if !strings.HasPrefix(link.DownloadURL, srv.URL+"/invoices/INV-2025-00003.pdf?") || !strings.Contains(link.DownloadURL, "signature=") {
		t.Errorf("downloadUrl = %s", link.DownloadURL)
	}
	if want := clk.Now().Add(5 * time.Minute).Truncate(time.Second); !billing.Time(link.ValidTill).Equal(want) {
		t.Errorf("validTill = %v (%v), want %v (now + 5 min)", link.ValidTill, billing.Time(link.ValidTill), want)
	}

	get := func(u string) (int, string, string) {
		res, err := http.Get(u) // no token
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), string(b)
	}
	if status, ct, body := get(link.DownloadURL); status != 200 || ct != "application/pdf" || !strings.HasPrefix(body, "%PDF-") {
		t.Errorf("GET link: %d %s %q", status, ct, body)
	}
	if status, _, _ := get(strings.Replace(link.DownloadURL, "00003", "00004", 1)); status != http.StatusForbidden {
		t.Errorf("GET another invoice with the same signature: %d, want 403", status)
	}
	clk.Advance(5*time.Minute + time.Second)
	if status, _, _ := get(link.DownloadURL); status != http.StatusForbidden {
		t.Errorf("GET expired link: %d, want 403", status)
	}

	res, err = c.GetInvoiceDownloadWithResponse(t.Context(), "INV-1999-00001")
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON404 == nil || res.JSON404.ErrorCode != "INVOICE_NOT_FOUND" {
		t.Errorf("unknown invoice: status %d: %s", res.StatusCode(), res.Body)
	}
}

func TestCloseBillingPeriod(t *testing.T) {
	srv := newServer(t)
	c := fullClient(t, srv)
	if _, err := c.SetSubscriptionItemQuantityWithResponse(t.Context(), billingtest.SubscriptionID, billingtest.UsersPlanID, gen.QuantityInput{Quantity: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetSubscriptionItemUsageWithResponse(t.Context(), billingtest.SubscriptionID, billingtest.APICallsAddonID, gen.UsageInput{UsageQuantity: 150}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddSubscriptionChargeAtTermWithResponse(t.Context(), billingtest.SubscriptionID, gen.ChargeAtTermInput{Amount: 1500, Description: "Onboarding"}); err != nil {
		t.Fatal(err)
	}

	inv, err := srv.CloseBillingPeriod(billingtest.SubscriptionID, false)
	if err != nil {
		t.Fatal(err)
	}
	renewal := float64(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	id := "INV-2026-00013"
	li := func(n int, entity, component, desc string, amount, tax float64) gen.InvoiceLineItem {
		l := gen.InvoiceLineItem{
			InvoiceLineItemID: fmt.Sprintf("li_%s_%d", id, n), InvoiceID: id, SubscriptionID: billingtest.SubscriptionID,
			EntityType: entity, Description: desc, Amount: amount, TaxAmount: tax, TaxRate: 20.0,
		}
		if component != "" {
			l.ComponentID = component
		}
		return l
	}
	want := gen.Invoice{
		InvoiceID: id, CustomerID: billingtest.ShopID, SubscriptionID: billingtest.SubscriptionID, ProductID: billingtest.ProductID,
		Status: "paid", CurrencyCode: "EUR", InvoiceDate: renewal, PaymentDate: renewal,
		LineItems: []gen.InvoiceLineItem{
			li(1, "plan_item_price", billingtest.StandardMonthlyPlanID, "Standard (month)", 1999, 400),
			li(2, "plan_item_price", billingtest.UsersPlanID, "Users × 7", 8900, 1780),
			li(3, "addon_item_price", billingtest.APICallsAddonID, billingtest.APICallsAddonID+" × 150", 300, 60),
			li(4, "adhoc", "", "Onboarding", 1500, 300),
		},
		TaxAmount: 2540, AmountTotal: 15239, AmountPaid: 15239.0, AmountDue: 0.0,
	}
	if diff := cmp.Diff(want, inv); diff != "" {
		t.Errorf("invoice (-want +got):\n%s", diff)
	}

	sub, _ := srv.Subscription(billingtest.SubscriptionID, false)
	if got, want := billing.Time(sub.NextRenewalAt), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("nextRenewalAt = %v, want %v", got, want)
	}
	if q := item(t, sub, billingtest.UsersPlanID).Quantity; q != 7 {
		t.Errorf("quantity after renewal = %v, want 7 (it does not reset)", q)
	}
	res, err := c.GetInvoicesWithResponse(t.Context(), &gen.GetInvoicesParams{ID: billingtest.SubscriptionID, Type: "subscription", Limit: 1})
	if err != nil || res.JSON200 == nil {
		t.Fatalf("%v %s", err, res.Body)
	}
	if got := res.JSON200.Items[0].InvoiceID; got != id || res.JSON200.Total != 13 {
		t.Errorf("newest invoice %s of %v, want %s of 13", got, res.JSON200.Total, id)
	}
	if _, err := srv.CloseBillingPeriod("nope", false); err == nil {
		t.Error("CloseBillingPeriod of an unknown subscription: no error")
	}
}
