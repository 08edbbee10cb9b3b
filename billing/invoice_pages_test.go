package billing

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
)

func invoiceItems(ids ...string) []any {
	items := []any{}
	for _, id := range ids {
		items = append(items, map[string]any{
			"invoiceId": id, "customerId": "c", "subscriptionId": "s", "status": "paid", "currencyCode": "EUR",
			"amountTotal": 1999, "taxAmount": 333, "taxIncluded": true, "lineItems": []any{},
		})
	}
	return items
}

// A server whose offset handling wraps around (offset 100 serves page 0 again):
// the iterator yields invoices it already yielded two pages before. A caller that
// sums amounts counts them twice.
func TestInvoicesPageRepeatedTwoBack(t *testing.T) {
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		page := (offset / 50) % 2 // 0, 1, 0, ...
		ids := make([]string, 50)
		for i := range ids {
			ids[i] = fmt.Sprintf("inv-%d", page*50+i)
		}
		writeJSON(w, 200, map[string]any{"items": invoiceItems(ids...), "total": 150})
	})
	c, _ := api.client(t)
	seen := map[string]int{}
	var dup []string
	for inv, err := range c.Invoices(context.Background(), "s") {
		if err != nil {
			t.Logf("ended with %v", err)
			break
		}
		if seen[inv.InvoiceID]++; seen[inv.InvoiceID] == 2 {
			dup = append(dup, inv.InvoiceID)
		}
	}
	if len(dup) > 0 {
		t.Errorf("%d invoices yielded twice (e.g. %s), no error", len(dup), dup[0])
	}
}

// A server that always answers fresh ids and a huge total: the iterator keeps
// fetching (bounded only by total/limit pages). Cap the test at 2000 pages.
func TestInvoicesEndlessFreshIDsBoundedByTotal(t *testing.T) {
	var n int
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		n++
		writeJSON(w, 200, map[string]any{"items": invoiceItems(fmt.Sprintf("inv-%d", n)), "total": 1e300})
	})
	c, _ := api.client(t)
	pages := 0
	for _, err := range c.Invoices(context.Background(), "s") {
		if err != nil {
			t.Logf("ended with %v after %d pages", err, pages)
			return
		}
		if pages++; pages == 2000 {
			t.Errorf("still iterating after %d pages of 1 invoice (limit %d), total 1e300: no bound on pages", pages, DefaultPageSize)
			return
		}
	}
}

// Odd totals and items end the iteration after one page, with an error when the
// page claims invoices it does not hold or a total that is not a count.
func TestInvoicesOddPagesEndIteration(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		offSpec bool // the answer breaks the spec
		wantErr string
	}{
		{"items null, total 5", `{"items":null,"total":5}`, true, "billing: getInvoices: unexpected success response: the page at offset 0 is empty, but the total is 5: the list ended early"},
		{"no items, total 5", `{"total":5}`, false, "billing: getInvoices: unexpected success response: the page at offset 0 is empty, but the total is 5: the list ended early"},
		{"negative total", `{"items":[],"total":-1}`, false, "billing: getInvoices: unexpected success response: the page at offset 0 claims a total of -1 invoices: not a count of invoices"},
		{"total 1e308", `{"items":[],"total":1e308}`, false, "billing: getInvoices: unexpected success response: the page at offset 0 claims a total of 1e+308 invoices: not a count of invoices"},
		{"fractional total", `{"items":[],"total":2.5}`, false, "billing: getInvoices: unexpected success response: the page at offset 0 claims a total of 2.5 invoices: not a count of invoices"},
		{"total missing", `{"items":[]}`, true, `billing: getInvoices: unexpected success response: 200 answer has no total, which the spec requires; body "{\"items\":[]}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				calls++
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, tt.body)
			})
			if tt.offSpec {
				api.allowOffSpec(contracttest.OffSpecAnswers("odd invoice pages are what this test is about"))
			}
			c, _ := api.client(t)
			var last error
			for _, err := range c.Invoices(context.Background(), "s") {
				last = err
				if calls > 10 {
					t.Fatal("loops")
				}
			}
			got := ""
			if last != nil {
				got = last.Error()
			}
			if calls != 1 || got != tt.wantErr {
				t.Errorf("%d calls, last error %q; want 1 call and %q", calls, got, tt.wantErr)
			}
		})
	}
}
