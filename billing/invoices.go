package billing

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/pages"
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

// Invoices iterates over all invoices of a subscription, fetching them page by page
// (WithPageSize invoices per getInvoices call) as the loop advances; breaking out of
// the loop fetches no more pages. Only one page is held at a time, and the id of
// each invoice yielded. An error ends the iteration as a final (zero Invoice,
// error) pair:
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
		fetch := func(offset float64) ([]gen.Invoice, float64, error) {
			params.Offset = offset
			page, err := c.GetInvoices(ctx, params, opts...)
			if err != nil {
				return nil, 0, err
			}
			return page.Items, page.Total, nil
		}
		pages.All("invoices", fetch, func(inv gen.Invoice) string { return inv.InvoiceID }, func(inv gen.Invoice, err error) bool {
			if st := (*pages.Stalled)(nil); errors.As(err, &st) {
				err = fmt.Errorf("billing: getInvoices: %w: %w", ErrUnexpectedResponse, st)
			}
			return yield(inv, err)
		})
	}
}
