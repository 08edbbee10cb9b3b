package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// invoicePages serves n invoices of subscription "s" by limit and offset.
func invoicePages(n int) http.HandlerFunc { return invoicePagesTotal(n, n) }

// invoicePagesTotal serves n invoices but claims total of them.
func invoicePagesTotal(n, total int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, _ := strconv.Atoi(q.Get("limit"))
		offset, _ := strconv.Atoi(q.Get("offset"))
		items := []any{}
		for i := offset; i < n && i < offset+limit; i++ {
			items = append(items, map[string]any{
				"invoiceId": fmt.Sprintf("inv-%d", i), "customerId": "c", "subscriptionId": q.Get("id"),
				"status": "paid", "currencyCode": "EUR", "amountTotal": 1999, "taxAmount": 333,
				"taxIncluded": true, "lineItems": []any{},
			})
		}
		writeJSON(w, 200, map[string]any{"items": items, "total": total})
	}
}

func TestInvoicesPagination(t *testing.T) {
	tests := []struct {
		name         string
		total        int
		pageSize     int
		stopAfter    int // 0: read all
		wantIDs      int
		wantRequests int32
	}{
		{"several pages", 7, 3, 0, 7, 3},
		{"exact pages", 6, 3, 0, 6, 2},
		{"empty", 0, 3, 0, 0, 1},
		{"break stops fetching", 100, 10, 15, 15, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTestAPI(t, invoicePages(tt.total))
			c, _ := api.client(t, WithPageSize(tt.pageSize))
			var got []string
			for inv, err := range c.Invoices(context.Background(), "s") {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, inv.InvoiceID)
				if len(got) == tt.stopAfter {
					break
				}
			}
			var want []string
			for i := range tt.wantIDs {
				want = append(want, fmt.Sprintf("inv-%d", i))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("invoices (-want +got):\n%s", diff)
			}
			if n := api.apiRequests.Load(); n != tt.wantRequests {
				t.Errorf("requests = %d, want %d", n, tt.wantRequests)
			}
		})
	}
}

func TestInvoicesNoProgress(t *testing.T) {
	// A server that claims more than it returns, or ignores the offset, must not make
	// the iterator loop: it ends with an error that says why.
	tests := []struct {
		name         string
		handle       http.HandlerFunc
		wantItems    int
		wantErr      string
		wantRequests int32
	}{
		{
			name: "empty page before the total",
			handle: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, map[string]any{"items": []any{}, "total": 50})
			},
			wantErr:      "billing: getInvoices: unexpected success response: the page at offset 0 is empty, but the total is 50: the list ended early",
			wantRequests: 1,
		},
		{
			name: "offset ignored, huge total",
			handle: func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				q.Set("offset", "0") // always the first page
				r.URL.RawQuery = q.Encode()
				invoicePagesTotal(10, 1_000_000)(w, r)
			},
			wantItems:    4,
			wantErr:      `billing: getInvoices: unexpected success response: the page at offset 4 holds only invoices already yielded ("inv-0" first): the server ignored the offset`,
			wantRequests: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTestAPI(t, tt.handle)
			c, _ := api.client(t, WithPageSize(4))
			var items int
			var last error
			for _, err := range c.Invoices(context.Background(), "s") {
				if err != nil {
					last = err
					break
				}
				items++
			}
			if items != tt.wantItems || last == nil || last.Error() != tt.wantErr {
				t.Errorf("got %d invoices then %v; want %d then %q", items, last, tt.wantItems, tt.wantErr)
			}
			if n := api.apiRequests.Load(); n != tt.wantRequests {
				t.Errorf("requests = %d, want %d", n, tt.wantRequests)
			}
		})
	}
}

func TestInvoicesError(t *testing.T) {
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("offset") == "0" {
			invoicePages(10)(w, r)
			return
		}
		writeError(w, 404, "SUBSCRIPTION_NOT_FOUND", "gone")
	})
	c, _ := api.client(t, WithPageSize(4))
	var n int
	var last error
	for _, err := range c.Invoices(context.Background(), "s") {
		if err != nil {
			last = err
			continue
		}
		n++
	}
	var apiErr *APIError
	if n != 4 || !errors.As(last, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("got %d invoices then %v; want 4 then a 404 APIError", n, last)
	}
}
