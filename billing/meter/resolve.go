package meter

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// Resolution is the caller's word on a parked batch.
type Resolution int

// The resolutions of a parked batch.
const (
	// NoResolution: the Meter cannot tell (a Proposal without one).
	NoResolution Resolution = iota
	// Applied: Billing counted the batch. It becomes Sent.
	Applied
	// NotApplied: Billing did not count it. It becomes Pending and the next
	// flush sends it again.
	NotApplied
)

func (r Resolution) String() string {
	switch r {
	case Applied:
		return "applied"
	case NotApplied:
		return "not applied"
	}
	return "no resolution"
}

// Resolve records the caller's word on a parked (Unknown) batch: Applied makes
// it Sent, NotApplied makes it Pending so that the next flush sends it again.
// NotApplied also sends a Refused batch again, once its cause is fixed. note is
// kept with the batch (who decided, from what). Resolving a batch wrongly counts
// its usage twice (Applied when it was not: never; NotApplied when it was:
// twice): decide from the invoice, or from Parked's Proposal.
func (m *Meter) Resolve(ctx context.Context, batchID int64, r Resolution, note string) error {
	if r != Applied && r != NotApplied {
		return fmt.Errorf("billing: meter: resolve batch %d: want Applied or NotApplied", batchID)
	}
	if err := m.store.Resolve(ctx, m.cfg.mode, batchID, r == Applied, note, m.now()); err != nil {
		return fmt.Errorf("billing: meter: resolve batch %d: %w", batchID, err)
	}
	return nil
}

// Parked is a batch whose outcome is unknown, with what is needed to decide.
type Parked struct {
	Batch    Batch   // ClaimedAt is when it was sent; Error why it is parked
	Usages   []Usage // the usages it sums, by key
	Proposal Proposal
}

// Proposal is the resolution the Meter proposes for a parked batch, from the
// subscription's invoices, or why it proposes none.
type Proposal struct {
	Resolution Resolution // NoResolution when the Meter cannot tell
	InvoiceID  string     // the invoice it read, if any
	// Reason explains the proposal: the quantities compared, or why there is none.
	Reason string
}

// maxSubset bounds how many parked batches of one invoice a proposal weighs.
const maxSubset = 16

// Parked lists the parked (Unknown) batches, oldest first, each with its usages
// and a Proposal. Proposals read the subscriptions' invoices and the items'
// prices through the API; a failure there is told in the Proposal's Reason, not
// returned.
//
// How a proposal is made: a batch sent at time t lands on the first invoice
// dated after t. When the item is priced per unit (and has no free quantity),
// that invoice's line for the item, over the unit price, is the quantity Billing
// counted in the period. The batches this Meter's journal holds as Sent in that
// period account for part of it; the rest must be made of the parked batches of
// the period. If exactly one set of them sums to the rest, each is proposed
// Applied or NotApplied accordingly. No invoice yet, another pricing, usage sent
// to the item by other means, or several sets that fit: no proposal.
func (m *Meter) Parked(ctx context.Context) ([]Parked, error) {
	parked, err := m.store.Batches(ctx, m.cfg.mode, Unknown)
	if err != nil {
		return nil, fmt.Errorf("billing: meter: listing parked batches: %w", err)
	}
	out := make([]Parked, len(parked))
	for i, b := range parked {
		us, err := m.store.BatchUsages(ctx, m.cfg.mode, b.ID)
		if err != nil {
			return nil, fmt.Errorf("billing: meter: listing parked batches: %w", err)
		}
		out[i] = Parked{Batch: b, Usages: us}
	}
	p := proposer{m: m, invoices: map[string][]gen.Invoice{}, prices: map[string]priceOf{}}
	if err := p.propose(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

type proposer struct {
	m        *Meter
	invoices map[string][]gen.Invoice // by subscription, oldest first
	invErr   map[string]error
	prices   map[string]priceOf // by product
	sent     []Batch            // the Sent batches of the mode
}

type priceOf struct {
	byItem map[string]float64 // unit price of per_unit items without free quantity
	why    map[string]string  // why another item has none
	err    error
}

// window is the parked batches of one item that landed on one invoice.
type window struct {
	sub, item string
	inv       gen.Invoice
	from, to  time.Time // (from, to]: the period the invoice closed
	idx       []int     // into the Parked slice
}

func (p *proposer) propose(ctx context.Context, out []Parked) error {
	if len(out) == 0 {
		return nil
	}
	sent, err := p.m.store.Batches(ctx, p.m.cfg.mode, Sent)
	if err != nil {
		return fmt.Errorf("billing: meter: listing sent batches: %w", err)
	}
	p.sent = sent
	windows := map[string]*window{}
	var order []*window
	for i := range out {
		b := &out[i].Batch
		invs, err := p.invoicesOf(ctx, b.SubscriptionID)
		if err != nil {
			out[i].Proposal.Reason = "listing the subscription's invoices: " + err.Error()
			continue
		}
		from, inv, ok := invoiceAfter(invs, b.ClaimedAt)
		if !ok {
			out[i].Proposal.Reason = fmt.Sprintf("no invoice dated after the send (%s) yet: wait until the period closes", b.ClaimedAt.UTC().Format(time.RFC3339))
			continue
		}
		k := b.SubscriptionID + "\x00" + b.ItemID + "\x00" + inv.InvoiceID
		w := windows[k]
		if w == nil {
			w = &window{sub: b.SubscriptionID, item: b.ItemID, inv: inv, from: from, to: invoiceDate(inv)}
			windows[k] = w
			order = append(order, w)
		}
		w.idx = append(w.idx, i)
	}
	for _, w := range order {
		p.decide(ctx, w, out)
	}
	return nil
}

func (p *proposer) decide(ctx context.Context, w *window, out []Parked) {
	set := func(r Resolution, reason string, pick []bool) {
		for j, i := range w.idx {
			res := NoResolution
			if pick != nil {
				res = NotApplied
				if pick[j] {
					res = Applied
				}
			}
			if r == NoResolution {
				res = NoResolution
			}
			out[i].Proposal = Proposal{Resolution: res, InvoiceID: w.inv.InvoiceID, Reason: reason}
		}
	}
	price, why := p.unitPrice(ctx, w.inv.ProductID, w.item)
	if price == 0 {
		set(NoResolution, why, nil)
		return
	}
	billed := 0.0
	for _, li := range w.inv.LineItems {
		if li.ComponentID == w.item {
			billed += li.Amount
		}
	}
	counted := billed / price
	// A call sent less than a lease before a period end may have been counted
	// in either period (a send ends before its lease does): the arithmetic
	// cannot tell then.
	lease := p.m.cfg.lease
	near := func(b Batch) bool {
		return b.ClaimedAt.After(w.to.Add(-lease)) && !b.ClaimedAt.After(w.to) ||
			b.ClaimedAt.After(w.from.Add(-lease)) && !b.ClaimedAt.After(w.from)
	}
	var sent float64
	for _, b := range p.sent {
		if b.SubscriptionID != w.sub || b.ItemID != w.item {
			continue
		}
		if near(b) {
			set(NoResolution, fmt.Sprintf("batch %d was sent at %s, within a lease (%s) of a period end: it may be on either invoice; decide by hand",
				b.ID, b.ClaimedAt.Format(time.RFC3339Nano), lease), nil)
			return
		}
		if b.ClaimedAt.After(w.from) && !b.ClaimedAt.After(w.to) {
			sent += b.Quantity
		}
	}
	for _, i := range w.idx {
		if b := out[i].Batch; near(b) {
			set(NoResolution, fmt.Sprintf("batch %d was sent at %s, within a lease (%s) of a period end: it may be on either invoice; decide by hand",
				b.ID, b.ClaimedAt.Format(time.RFC3339Nano), lease), nil)
			return
		}
	}
	rest := counted - sent
	if len(w.idx) > maxSubset {
		set(NoResolution, fmt.Sprintf("%d parked batches on invoice %s: too many to weigh", len(w.idx), w.inv.InvoiceID), nil)
		return
	}
	var fits []uint32
	for mask := uint32(0); mask < 1<<len(w.idx); mask++ {
		sum := 0.0
		for j, i := range w.idx {
			if mask&(1<<j) != 0 {
				sum += out[i].Batch.Quantity
			}
		}
		if same(sum, rest) {
			fits = append(fits, mask)
			if len(fits) > 1 {
				break
			}
		}
	}
	head := fmt.Sprintf("invoice %s bills %g for the item at %g per unit: %g counted; the journal's sent batches of the period carry %g, so %g comes from parked batches",
		w.inv.InvoiceID, billed, price, counted, sent, rest)
	switch len(fits) {
	case 0:
		set(NoResolution, head+"; no set of the period's parked batches sums to it (usage sent by other means?)", nil)
	case 1:
		pick := make([]bool, len(w.idx))
		for j := range w.idx {
			pick[j] = fits[0]&(1<<j) != 0
		}
		set(Applied, head+"; exactly one set of the period's parked batches sums to it", pick)
	default:
		set(NoResolution, head+"; several sets of the period's parked batches sum to it: decide by hand", nil)
	}
}

// same compares quantities that went through cents and float64 sums.
func same(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

func (p *proposer) invoicesOf(ctx context.Context, sub string) ([]gen.Invoice, error) {
	if invs, ok := p.invoices[sub]; ok {
		return invs, nil
	}
	if err, ok := p.invErr[sub]; ok {
		return nil, err
	}
	var invs []gen.Invoice
	for inv, err := range p.m.api.Invoices(ctx, sub, billing.Sandbox(p.m.cfg.mode == Sandbox)) {
		if err != nil {
			if p.invErr == nil {
				p.invErr = map[string]error{}
			}
			p.invErr[sub] = err
			return nil, err
		}
		invs = append(invs, inv)
	}
	slices.SortStableFunc(invs, func(a, b gen.Invoice) int { return invoiceDate(a).Compare(invoiceDate(b)) })
	p.invoices[sub] = invs
	return invs, nil
}

// invoiceAfter returns the first invoice dated after t, and the date of the one
// before it (the start of its period; zero if none).
func invoiceAfter(invs []gen.Invoice, t time.Time) (from time.Time, inv gen.Invoice, ok bool) {
	for _, inv := range invs {
		d := invoiceDate(inv)
		if d.IsZero() {
			continue
		}
		if d.After(t) {
			return from, inv, true
		}
		from = d
	}
	return from, gen.Invoice{}, false
}

// unitPrice returns the unit price of a per-unit priced item of the product, or
// 0 and why the quantity cannot be read from its invoice line.
func (p *proposer) unitPrice(ctx context.Context, product, item string) (float64, string) {
	pr, ok := p.prices[product]
	if !ok {
		pr = priceOf{byItem: map[string]float64{}, why: map[string]string{}}
		comps, err := p.m.api.GetProductComponents(ctx, product, gen.GetProductComponentsParams{}, billing.Sandbox(p.m.cfg.mode == Sandbox))
		if err != nil {
			pr.err = err
		} else {
			for _, c := range comps.Plans {
				pr.note(c.ID, c.PricingModel, c.Price, c.FreeQuantity)
			}
			for _, c := range comps.Addons {
				pr.note(c.ID, c.PricingModel, c.Price, 0)
			}
		}
		p.prices[product] = pr
	}
	if pr.err != nil {
		return 0, "reading the item's price: " + pr.err.Error()
	}
	if v, ok := pr.byItem[item]; ok {
		return v, ""
	}
	if why, ok := pr.why[item]; ok {
		return 0, why
	}
	return 0, fmt.Sprintf("item %s is not a component of product %q", item, product)
}

func (pr *priceOf) note(id string, model gen.PricingModel, price, free float64) {
	switch {
	case model != gen.PerUnit:
		pr.why[id] = fmt.Sprintf("item %s is priced %s: its quantity cannot be read from an invoice line; decide by hand", id, model)
	case price <= 0:
		pr.why[id] = fmt.Sprintf("item %s has no unit price; decide by hand", id)
	case free > 0:
		pr.why[id] = fmt.Sprintf("item %s has a free quantity: usage within it is not on the invoice; decide by hand", id)
	default:
		pr.byItem[id] = price
	}
}

// invoiceDate reads an invoice's date (zero when absent).
func invoiceDate(inv gen.Invoice) time.Time {
	if inv.InvoiceDate == 0 {
		return time.Time{}
	}
	return billing.Time(inv.InvoiceDate)
}
