package billing

import (
	"context"
	"fmt"
	"iter"
	"math"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// invoiceList is a getInvoices answer, with its required total checked.
type invoiceList struct {
	Items []gen.Invoice `json:"items"`
	Total *float64      `json:"total"` // required: nil when the answer has none
}

func (l *invoiceList) answer() (*gen.InvoiceList, string) {
	if l.Total == nil {
		return nil, "total"
	}
	return &gen.InvoiceList{Items: l.Items, Total: *l.Total}, ""
}

// maxInvoices bounds the total a getInvoices answer may claim: a subscription
// invoiced every day for ten thousand years has fewer. A larger (or negative, or
// fractional) total is an error, so that the iteration has a bound on its pages.
const maxInvoices = 1 << 22

// Invoices iterates over all invoices of a subscription, fetching them page by page
// (WithPageSize invoices per getInvoices call) as the loop advances; breaking out of
// the loop fetches no more pages. Only one page is held at a time. An error ends the
// iteration as a final (zero Invoice, error) pair:
//
//	for inv, err := range client.Invoices(ctx, subscriptionID) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(inv.InvoiceID, inv.AmountTotal)
//	}
//
// A server that makes no progress ends the iteration with an error instead of
// looping or yielding an invoice twice: an empty page before the total is reached,
// a page that repeats an invoice of the page before it or starts with the first
// invoice of an earlier page (an offset ignored or wrapped around), or a total that
// is not a count of invoices (negative, fractional, above a few million).
func (c *Client) Invoices(ctx context.Context, subscriptionID string, opts ...RequestEditorFn) iter.Seq2[gen.Invoice, error] {
	return func(yield func(gen.Invoice, error) bool) {
		params := gen.GetInvoicesParams{ID: subscriptionID, Type: "subscription", Limit: float64(c.pageSize)}
		var seen pagesSeen
		for {
			page, err := c.GetInvoices(ctx, params, opts...)
			if err == nil {
				err = seen.check(page, params.Offset)
			}
			if err != nil {
				yield(gen.Invoice{}, err)
				return
			}
			for _, inv := range page.Items {
				if !yield(inv, nil) {
					return
				}
			}
			params.Offset += float64(len(page.Items))
			if params.Offset >= page.Total {
				return
			}
		}
	}
}

// pagesSeen remembers what the pages so far held, in little memory: the invoices of
// the last page, and the first invoice of each page (a few bytes per page).
type pagesSeen struct {
	prev   map[string]bool // invoice ids of the previous page
	firsts map[string]bool // the first invoice id of every page
}

// check refuses a page that makes no progress, then records it.
func (s *pagesSeen) check(page *gen.InvoiceList, offset float64) error {
	if t := page.Total; t < 0 || t > maxInvoices || t != math.Trunc(t) {
		return fmt.Errorf("billing: getInvoices: the page at offset %g claims a total of %g invoices: not a count of invoices", offset, t)
	}
	if len(page.Items) == 0 {
		if offset < page.Total {
			return fmt.Errorf("billing: getInvoices: the page at offset %g is empty, but the total is %g: the list ended early", offset, page.Total)
		}
		return nil
	}
	first := page.Items[0].InvoiceID
	if s.firsts[first] {
		return fmt.Errorf("billing: getInvoices: the page at offset %g starts with invoice %q, as an earlier page did: the server ignored the offset", offset, first)
	}
	for _, inv := range page.Items {
		if s.prev[inv.InvoiceID] {
			return fmt.Errorf("billing: getInvoices: the page at offset %g repeats invoice %q of the previous page: the server ignored the offset", offset, inv.InvoiceID)
		}
	}
	if s.firsts == nil {
		s.firsts = map[string]bool{}
	}
	s.firsts[first] = true
	s.prev = make(map[string]bool, len(page.Items))
	for _, inv := range page.Items {
		s.prev[inv.InvoiceID] = true
	}
	return nil
}
