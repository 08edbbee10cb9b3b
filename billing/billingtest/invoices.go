package billingtest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest/internal/fakeapi"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// downloadTTL is how long an invoice download link stays valid.
const downloadTTL = 5 * time.Minute

// GetInvoices lists a subscription's invoices, a page at a time.
func (h handlers) GetInvoices(ctx context.Context, req fakeapi.GetInvoicesRequestObject) (fakeapi.GetInvoicesResponseObject, error) {
	p := req.Params
	if p.Type != "subscription" {
		return newError(http.StatusBadRequest, "BAD_REQUEST", "query parameter type: only subscription is supported, not %q", p.Type), nil
	}
	order := strings.ToLower(p.Order)
	if order != "" && order != "asc" && order != "desc" {
		return newError(http.StatusBadRequest, "BAD_REQUEST", "query parameter order: must be asc or desc, not %q", p.Order), nil
	}
	st := callOf(ctx).st
	if _, ok := st.subs[p.ID]; !ok {
		return notFound("subscription", p.ID), nil
	}
	all := st.invoicesOf(p.ID)
	if order != "asc" { // newest first by default
		slices.Reverse(all)
	}
	from, to := page(p.Offset, p.Limit, len(all))
	items := make([]gen.Invoice, 0, to-from)
	for _, inv := range all[from:to] {
		items = append(items, clone(*inv))
	}
	return fakeapi.GetInvoices200JSONResponse{Items: items, Total: float64(len(all))}, nil
}

// page returns the bounds of the page of n items that offset and limit select.
// Both are JSON numbers with no minimum in the spec, so any value is accepted:
// fractions are truncated, and a negative or NaN value counts as 0.
func page(offset, limit float64, n int) (from, to int) {
	whole := func(v float64) int {
		if !(v > 0) { // negative, zero or NaN
			return 0
		}
		return int(min(math.Trunc(v), float64(n)))
	}
	from = whole(offset)
	return from, from + min(whole(limit), n-from)
}

// GetInvoiceDownload answers a signed link to the invoice's PDF, served by the
// fake itself.
func (h handlers) GetInvoiceDownload(ctx context.Context, req fakeapi.GetInvoiceDownloadRequestObject) (fakeapi.GetInvoiceDownloadResponseObject, error) {
	if !callOf(ctx).st.hasInvoice(req.InvoiceID) {
		return notFound("invoice", req.InvoiceID), nil
	}
	till := h.s.cfg.now().Add(downloadTTL).Unix()
	link := fmt.Sprintf("%s/invoices/%s.pdf?expires=%d&signature=%s", h.s.ts.URL, url.PathEscape(req.InvoiceID), till, h.s.sign(req.InvoiceID, till))
	return fakeapi.GetInvoiceDownload200JSONResponse{Item: gen.InvoiceDownload{DownloadURL: link, ValidTill: float64(till)}}, nil
}

// sign is the signature of a download link.
func (s *Server) sign(invoiceID string, till int64) string {
	m := hmac.New(sha256.New, s.pdfSecret)
	_, _ = fmt.Fprintf(m, "%s\n%d", invoiceID, till) // a hash never fails
	return hex.EncodeToString(m.Sum(nil))
}

// servePDF serves the PDF of a download link: GET /invoices/ID.pdf with the
// link's expires and signature, no token.
func (s *Server) servePDF(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/invoices/"), ".pdf")
	if r.Method != http.MethodGet || !ok || id == "" {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no operation %s %s", r.Method, r.URL.Path)
		return
	}
	till, err := strconv.ParseInt(r.URL.Query().Get("expires"), 10, 64)
	sig, _ := hex.DecodeString(r.URL.Query().Get("signature"))
	want, _ := hex.DecodeString(s.sign(id, till))
	switch {
	case err != nil || !hmac.Equal(sig, want):
		writeError(w, http.StatusForbidden, "FORBIDDEN", "invalid download link signature")
		return
	case s.cfg.now().Unix() > till:
		writeError(w, http.StatusForbidden, "FORBIDDEN", "the download link expired")
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	_, _ = fmt.Fprintf(w, "%%PDF-1.4\n%% billingtest invoice %s\n%%%%EOF\n", id)
}

// CloseBillingPeriod ends the current billing period of a subscription of the
// sandbox or live store, as a renewal does: it issues the period's invoice and
// returns it. The invoice is dated at the subscription's nextRenewalAt (now, by
// the server's clock, if it has none), which then moves one period on. It bills
// each item (flat fee; per_unit price × quantity; stairstep the step price;
// metered items usage × unit price) and each pending charge at term as an adhoc
// line, with 20% tax, then resets the usage and the pending charges and bumps
// the subscription's resourceVersion. Quantities stay as they are.
func (s *Server) CloseBillingPeriod(subscriptionID string, sandbox bool) (gen.Invoice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.store(sandbox)
	sub, ok := st.subs[subscriptionID]
	if !ok {
		return gen.Invoice{}, fmt.Errorf("billingtest: subscription %s not found", subscriptionID)
	}
	at := s.cfg.now()
	if sub.NextRenewalAt != 0 {
		at = billing.Time(sub.NextRenewalAt)
	}

	var lines []gen.InvoiceLineItem
	for i := range sub.SubscriptionItems {
		it := &sub.SubscriptionItems[i]
		l := gen.InvoiceLineItem{EntityType: it.ItemType + "_item_price", ComponentID: it.ID}
		comp, known := st.component(sub.ProductID, it.ID)
		name := it.ID
		if known && comp.Details.Title != "" {
			name = comp.Details.Title
		}
		switch {
		case st.metered(sub, i):
			price := it.UnitPrice
			if known {
				price = comp.Price
			}
			l.Amount, l.Description = cents(it.Usage*price), fmt.Sprintf("%s × %g", name, it.Usage)
			it.Usage = 0
		case known && comp.Pricing == gen.FlatFee:
			l.Amount, l.Description = comp.Price, fmt.Sprintf("%s (%s)", name, comp.Period)
		case known:
			l.Amount, l.Description = cents(comp.amount(it.Quantity)), fmt.Sprintf("%s × %g", name, it.Quantity)
		default:
			l.Amount, l.Description = it.Amount, name
		}
		lines = append(lines, l)
	}
	for _, ch := range sub.charges {
		lines = append(lines, gen.InvoiceLineItem{EntityType: "adhoc", Description: ch.Description, Amount: ch.Amount})
	}
	sub.charges = nil

	inv := newInvoice(st.nextInvoiceID(at), sub.ShopID, sub.ID, sub.ProductID, at, lines)
	st.invoices = append(st.invoices, &inv)
	if sub.NextRenewalAt != 0 {
		sub.NextRenewalAt = float64(addPeriod(at, sub.BillingPeriodUnit, 1).Unix())
	}
	sub.bump(s.cfg.now())
	s.emit(st, webhook.SubscriptionUpdated, sub.ShopID, sub, nil)
	s.emit(st, webhook.PaymentSucceeded, sub.ShopID, sub, &inv)
	return clone(inv), nil
}

// nextInvoiceID returns a new invoice id, INV-YYYY-NNNNN.
func (st *store) nextInvoiceID(at time.Time) string {
	for n := len(st.invoices) + 1; ; n++ {
		id := fmt.Sprintf("INV-%d-%05d", at.Year(), n)
		if !st.hasInvoice(id) {
			return id
		}
	}
}
