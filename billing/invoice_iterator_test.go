package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// yielded runs the iteration and returns the ids yielded and the final error.
func yielded(c *Client) (ids []string, err error) {
	for inv, err := range c.Invoices(context.Background(), "s") {
		if err != nil {
			return ids, err
		}
		ids = append(ids, inv.InvoiceID)
	}
	return ids, nil
}

// Invoices issued while the loop runs shift the offset pages (newest first):
// the next page repeats invoices already yielded. They are skipped, and the
// iteration goes on to the end.
func TestInvoicesSkipsAShiftFromNewInvoices(t *testing.T) {
	var issued atomic.Int32 // invoices issued after the first page
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		// Newest first: new-1..new-k, then inv-9..inv-0.
		var all []string
		for i := int(issued.Load()); i >= 1; i-- {
			all = append(all, fmt.Sprintf("new-%d", i))
		}
		for i := 9; i >= 0; i-- {
			all = append(all, fmt.Sprintf("inv-%d", i))
		}
		page := all[min(offset, len(all)):min(offset+limit, len(all))]
		writeJSON(w, 200, map[string]any{"items": invoiceItems(page...), "total": len(all)})
		issued.Add(1) // one more invoice before the next page
	})
	c, _ := api.client(t, WithPageSize(3))
	ids, err := yielded(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"inv-9", "inv-8", "inv-7", "inv-6", "inv-5", "inv-4", "inv-3", "inv-2", "inv-1", "inv-0"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("yielded (-want +got):\n%s", diff)
	}
}

func TestInvoicesNeverYieldsAnInvoiceTwice(t *testing.T) {
	tests := []struct {
		name    string
		pages   [][]string // by page number
		total   int
		want    []string
		wantErr bool
	}{
		{"repeated inside a page", [][]string{{"a", "b", "a"}, {"c"}}, 4, []string{"a", "b", "c"}, false},
		{"repeated from two pages back", [][]string{{"a", "b"}, {"c", "d"}, {"a", "e"}}, 6, []string{"a", "b", "c", "d", "e"}, false},
		{"a page of invoices already yielded", [][]string{{"a", "b"}, {"b", "a"}}, 6, []string{"a", "b"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
				n := 0
				for p := range tt.pages {
					if n == offset {
						writeJSON(w, 200, map[string]any{"items": invoiceItems(tt.pages[p]...), "total": tt.total})
						return
					}
					n += len(tt.pages[p])
				}
				writeJSON(w, 200, map[string]any{"items": []any{}, "total": tt.total})
			})
			c, _ := api.client(t)
			ids, err := yielded(c)
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("yielded (-want +got):\n%s", diff)
			}
			if (err != nil) != tt.wantErr || err != nil && !errors.Is(err, ErrUnexpectedResponse) {
				t.Errorf("error = %v, want error %v wrapping ErrUnexpectedResponse", err, tt.wantErr)
			}
		})
	}
}

// The iterator's own checks of a page are unusable answers, as others are.
func TestInvoicesPageChecksWrapErrUnexpectedResponse(t *testing.T) {
	for _, body := range []map[string]any{
		{"items": []any{}, "total": 5},  // empty before the total
		{"items": []any{}, "total": -1}, // not a count
		{"items": []any{}, "total": 2.5},
	} {
		api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, body) })
		c, _ := api.client(t)
		if _, err := yielded(c); !errors.Is(err, ErrUnexpectedResponse) {
			t.Errorf("%v: error = %v, want ErrUnexpectedResponse", body, err)
		}
	}
}
