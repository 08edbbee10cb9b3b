package contract_test

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
)

// liveVars must all be set for TestLive to call the real API.
var liveVars = []string{"BILLING_CLIENT_ID", "BILLING_CLIENT_SECRET", "BILLING_PRODUCT_ID"}

// TestLive calls the real Billing API in sandbox mode, read-only, and checks
// every request it sends and every answer it gets against the vendored spec
// (contracttest). It runs only under `make live` (BILLING_LIVE=1), with the
// variables of liveVars set:
//
//   - getProductComponents of BILLING_PRODUCT_ID, each component on its type;
//   - with BILLING_SUBSCRIPTION_ID: getInvoices of it, then getInvoiceDownload of
//     its first invoice, if any;
//   - with BILLING_SUBSCRIPTION_ID and BILLING_ITEM_ID as well: the quantity PUT
//     (idempotent) of that item to BILLING_ITEM_QUANTITY (default 1).
//
// Never usage, charges at term, customers, estimates or plan changes. Optional:
// BILLING_BASE_URL, BILLING_TOKEN_URL, BILLING_SCOPES (space separated; default
// the scopes of the operations run). It prints a report per operation and fails
// on any error or violation.
func TestLive(t *testing.T) {
	if os.Getenv("BILLING_LIVE") != "1" {
		t.Skip("the real API is called only by `make live` (BILLING_LIVE=1)")
	}
	var missing []string
	for _, v := range liveVars {
		if os.Getenv(v) == "" {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		t.Skipf("live check skipped: %s not set. Set %s to run the read-only operations against the real API in sandbox mode; "+
			"add BILLING_SUBSCRIPTION_ID for invoices, and BILLING_ITEM_ID (BILLING_ITEM_QUANTITY, default 1) for the quantity PUT.",
			strings.Join(missing, ", "), strings.Join(liveVars, ", "))
	}
	sub, item := os.Getenv("BILLING_SUBSCRIPTION_ID"), os.Getenv("BILLING_ITEM_ID")
	quantity := 1.0
	if q := os.Getenv("BILLING_ITEM_QUANTITY"); q != "" {
		var err error
		if quantity, err = strconv.ParseFloat(q, 64); err != nil || quantity <= 0 {
			t.Fatalf("BILLING_ITEM_QUANTITY %q: want a number above 0", q)
		}
	}
	scopes := []string{}
	if sub != "" {
		scopes = append(scopes, billing.ScopeInvoicesRead)
		if item != "" {
			scopes = append(scopes, billing.ScopeSubscriptionWriteQuantity)
		}
	}
	if s := os.Getenv("BILLING_SCOPES"); s != "" {
		scopes = strings.Fields(s)
	}

	var mu sync.Mutex
	violations := map[string][]string{}
	w := &wire{base: http.DefaultTransport}
	check := contracttest.NewFunc(w, func(v contracttest.Violation) {
		mu.Lock()
		defer mu.Unlock()
		violations[v.Operation] = append(violations[v.Operation], v.Error())
	})
	opts := []billing.Option{
		billing.WithClientCredentials(os.Getenv("BILLING_CLIENT_ID"), os.Getenv("BILLING_CLIENT_SECRET")),
		billing.WithScopes(scopes...),
		billing.WithSandbox(true),
		billing.WithHTTPClient(&http.Client{Transport: check, Timeout: 30 * time.Second}),
	}
	if u := os.Getenv("BILLING_BASE_URL"); u != "" {
		opts = append(opts, billing.WithBaseURL(u))
	}
	if u := os.Getenv("BILLING_TOKEN_URL"); u != "" {
		opts = append(opts, billing.WithTokenURL(u))
	}
	c, err := billing.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(t.Context()); err != nil {
		t.Fatalf("token (scopes %q): %v", scopes, err)
	}

	id := ids{product: os.Getenv("BILLING_PRODUCT_ID"), subscription: sub, quantityItem: item, quantity: quantity}
	type row struct{ op, result string }
	var rows []row
	run := func(opID string, describe func(body any) string) any {
		body, err := operationOf(id, opID).call(t.Context(), c)
		result := ""
		switch {
		case err != nil:
			t.Errorf("%s: %v", opID, err)
			result = "ERROR " + err.Error()
		default:
			result = "ok: " + describe(body)
		}
		rows = append(rows, row{opID, result})
		return body
	}

	run("getProductComponents", func(body any) string {
		seen := map[string]int{}
		ex := w.take()
		if err := components(body.(*billing.Components), ex[len(ex)-1].body, true, seen); err != nil {
			t.Errorf("getProductComponents: %v", err)
		}
		return fmt.Sprintf("total %v, by type %v", body.(*billing.Components).Total, seen)
	})
	if sub != "" {
		body := run("getInvoices", func(body any) string {
			l := body.(*gen.InvoiceList)
			return fmt.Sprintf("%d of total %v", len(l.Items), l.Total)
		})
		if l, ok := body.(*gen.InvoiceList); ok && len(l.Items) > 0 {
			id.invoice = l.Items[0].InvoiceID
			run("getInvoiceDownload", func(body any) string {
				d := body.(*gen.InvoiceDownloadResponse)
				return "link valid till " + billing.Time(d.Item.ValidTill).Format(time.RFC3339)
			})
		} else {
			rows = append(rows, row{"getInvoiceDownload", "not run: the subscription has no invoice"})
		}
		if item != "" {
			run("setSubscriptionItemQuantity", func(body any) string {
				q := body.(*gen.QuantityResponse)
				return fmt.Sprintf("quantity %v", q.Item.Quantity)
			})
		} else {
			rows = append(rows, row{"setSubscriptionItemQuantity", "not run: set BILLING_ITEM_ID"})
		}
	} else {
		rows = append(rows, row{"getInvoices, getInvoiceDownload", "not run: set BILLING_SUBSCRIPTION_ID"})
	}

	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OPERATION\tRESULT\tSPEC VIOLATIONS")
	for _, r := range rows {
		mu.Lock()
		vs := violations[r.op]
		mu.Unlock()
		fmt.Fprintf(tw, "%s\t%s\t%d\n", r.op, r.result, len(vs))
		for _, v := range vs {
			t.Errorf("%v", v)
		}
	}
	_ = tw.Flush()
	reqs, answers := check.Checked()
	t.Logf("real API, sandbox mode: %d requests and %d answers checked against openapi/billing.yaml\n%s", reqs, answers, b.String())
}
