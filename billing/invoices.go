package billing

import (
	"context"
	"fmt"
	"hash/maphash"
	"iter"
	"math"
	"slices"

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
// the loop fetches no more pages. Only one page is held at a time, and a 64-bit
// hash of each invoice id yielded (seeded per loop: two ids of a million share
// one with odds below 1 in 10^7). An error ends the iteration as a final (zero
// Invoice, error) pair:
//
//	for inv, err := range client.Invoices(ctx, subscriptionID) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(inv.InvoiceID, inv.AmountTotal)
//	}
//
// No invoice is yielded twice. Pages are fetched by offset, newest invoice first,
// so an invoice issued while the loop runs shifts the later pages by one: the
// next page starts with an invoice already yielded. That is normal: invoices
// already yielded are skipped, and the iteration goes on (an invoice issued after
// the loop started is not yielded). A server that makes no progress ends the
// iteration with an error wrapping ErrUnexpectedResponse instead of looping: a
// page that holds only invoices already yielded (the offset ignored or wrapped
// around, or more than a page of invoices issued during the loop), an empty page
// before the total is reached, or a total that is not a count of invoices
// (negative, fractional, above a few million).
func (c *Client) Invoices(ctx context.Context, subscriptionID string, opts ...RequestEditorFn) iter.Seq2[gen.Invoice, error] {
	return func(yield func(gen.Invoice, error) bool) {
		params := gen.GetInvoicesParams{ID: subscriptionID, Type: "subscription", Limit: float64(c.pageSize)}
		seen, seed := map[uint64]bool{}, maphash.MakeSeed() // hashes of the ids yielded
		for {
			page, err := c.GetInvoices(ctx, params, opts...)
			if err == nil {
				err = checkPage(page, params.Offset, seen, seed)
			}
			if err != nil {
				yield(gen.Invoice{}, err)
				return
			}
			for _, inv := range page.Items {
				h := maphash.String(seed, inv.InvoiceID)
				if seen[h] {
					continue
				}
				seen[h] = true
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

// checkPage refuses a page that makes no progress: seen holds the invoices
// yielded so far.
func checkPage(page *gen.InvoiceList, offset float64, seen map[uint64]bool, seed maphash.Seed) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("billing: getInvoices: %w: the page at offset %g "+format, append([]any{ErrUnexpectedResponse, offset}, args...)...)
	}
	switch t := page.Total; {
	case t < 0 || t > maxInvoices || t != math.Trunc(t):
		return fail("claims a total of %g invoices: not a count of invoices", t)
	case len(page.Items) == 0 && offset < t:
		return fail("is empty, but the total is %g: the list ended early", t)
	}
	yielded := func(inv gen.Invoice) bool { return seen[maphash.String(seed, inv.InvoiceID)] }
	if len(page.Items) > 0 && !slices.ContainsFunc(page.Items, func(inv gen.Invoice) bool { return !yielded(inv) }) {
		return fail("holds only invoices already yielded (%q first): the server ignored the offset", page.Items[0].InvoiceID)
	}
	return nil
}
