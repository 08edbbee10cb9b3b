package billing

import (
	"context"
	"fmt"
	"iter"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// Invoices iterates over all invoices of a subscription, fetching them page by page
// (WithPageSize invoices per getInvoices call) as the loop advances; breaking out of
// the loop fetches no more pages. An error ends the iteration as a final
// (zero Invoice, error) pair:
//
//	for inv, err := range client.Invoices(ctx, subscriptionID) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(inv.InvoiceId, inv.AmountTotal)
//	}
func (c *Client) Invoices(ctx context.Context, subscriptionID string, reqEditors ...gen.RequestEditorFn) iter.Seq2[gen.Invoice, error] {
	return func(yield func(gen.Invoice, error) bool) {
		params := gen.GetInvoicesParams{Id: subscriptionID, Type: "subscription", Limit: float64(c.pageSize)}
		for {
			resp, err := c.GetInvoicesWithResponse(ctx, &params, reqEditors...)
			if err == nil && resp.JSON200 == nil {
				err = fmt.Errorf("billing: getInvoices: unexpected %d answer with no invoice list", resp.StatusCode())
			}
			if err != nil {
				yield(gen.Invoice{}, err)
				return
			}
			page := resp.JSON200
			for _, inv := range page.Items {
				if !yield(inv, nil) {
					return
				}
			}
			params.Offset += float64(len(page.Items))
			// An empty page ends the list even if total says more: never loop forever.
			if len(page.Items) == 0 || params.Offset >= page.Total {
				return
			}
		}
	}
}
