package billing

import (
	"context"
	"fmt"
	"iter"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// Invoices iterates over all invoices of a subscription, fetching them page by page
// (WithPageSize invoices per getInvoices call) as the loop advances; breaking out of
// the loop fetches no more pages. Only one page is held at a time. An error ends the
// iteration as a final (zero Invoice, error) pair:
//
//	for inv, err := range client.Invoices(ctx, subscriptionID) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(inv.InvoiceId, inv.AmountTotal)
//	}
//
// A server that makes no progress ends the iteration with an error instead of
// looping: an empty page before the total is reached, or a page that repeats an
// invoice of the page before it (an offset ignored).
func (c *Client) Invoices(ctx context.Context, subscriptionID string, opts ...RequestEditorFn) iter.Seq2[gen.Invoice, error] {
	return func(yield func(gen.Invoice, error) bool) {
		params := gen.GetInvoicesParams{Id: subscriptionID, Type: "subscription", Limit: float64(c.pageSize)}
		var prev map[string]bool // invoice ids of the previous page
		for {
			page, err := c.GetInvoices(ctx, params, opts...)
			if err == nil {
				err = checkPage(page, prev, params.Offset)
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
			prev = make(map[string]bool, len(page.Items))
			for _, inv := range page.Items {
				prev[inv.InvoiceId] = true
			}
		}
	}
}

// checkPage refuses a page that makes no progress: empty although the total says
// more, or holding an invoice of the previous page.
func checkPage(page *gen.InvoiceList, prev map[string]bool, offset float64) error {
	if len(page.Items) == 0 && offset < page.Total {
		return fmt.Errorf("billing: getInvoices: the page at offset %g is empty, but the total is %g: the list ended early", offset, page.Total)
	}
	for _, inv := range page.Items {
		if prev[inv.InvoiceId] {
			return fmt.Errorf("billing: getInvoices: the page at offset %g repeats invoice %q of the previous page: the server ignored the offset", offset, inv.InvoiceId)
		}
	}
	return nil
}
