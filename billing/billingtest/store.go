package billingtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// taxRate is the only tax the fake applies, in percent.
const taxRate = 20

// store is the state of one environment (live or sandbox). The Server's mutex
// guards it.
type store struct {
	products  map[string][]*component // by product id, in seed order
	customers map[string]gen.Customer
	created   map[string]webhook.Version // resource_version of the customers addCustomer created
	subs      map[string]*subscription
	invoices  []*gen.Invoice // in issue order
}

// component is a plan or an addon: the fields both share, decoded from its
// JSON (an addon has no Period).
type component struct {
	ID      string            `json:"id"`
	Product string            `json:"productId"`
	Group   string            `json:"componentGroupId"`
	Kind    gen.ComponentType `json:"componentType"`
	Pricing gen.PricingModel  `json:"pricingModel"`
	Status  gen.ComponentStatus
	Metered bool           `json:"isUsageBased"`
	Period  gen.PeriodUnit `json:"billingPeriodUnit"` // plans only
	Price   float64
	Tiers   []gen.Tier
	Details struct{ Title string }

	src any // the gen.Plan or gen.Addon of the seed
}

// subscription is a subscription and what waits for its next invoice.
type subscription struct {
	gen.Subscription
	charges []gen.ChargeAtTerm
}

// newStore returns a store of seed. It panics on a duplicate id.
func newStore(seed Seed) *store {
	seed = clone(seed)
	st := &store{
		products:  map[string][]*component{},
		customers: map[string]gen.Customer{},
		created:   map[string]webhook.Version{},
		subs:      map[string]*subscription{},
	}
	seen := map[string]bool{}
	unique := func(what, id string) {
		if seen[what+" "+id] {
			panic(fmt.Sprintf("billingtest: the seed has %s %s twice", what, id))
		}
		seen[what+" "+id] = true
	}
	var comps []any
	for _, p := range seed.Plans {
		p.ComponentType = gen.PlanComponentTypePlan
		comps = append(comps, p)
	}
	for _, a := range seed.Addons {
		a.ComponentType = cmp.Or(a.ComponentType, gen.AddonComponentTypeAddon)
		comps = append(comps, a)
	}
	for _, v := range comps {
		c := &component{src: v}
		recode(v, c)
		unique("component", c.Product+"/"+c.ID)
		st.products[c.Product] = append(st.products[c.Product], c)
	}
	for _, c := range seed.Customers {
		unique("customer", c.ID)
		st.customers[c.ID] = c
	}
	for _, s := range seed.Subscriptions {
		unique("subscription", s.ID)
		st.subs[s.ID] = &subscription{Subscription: s}
	}
	for i, inv := range seed.Invoices {
		unique("invoice", inv.InvoiceID)
		st.invoices = append(st.invoices, &seed.Invoices[i])
	}
	return st
}

// component returns the component id of product productID.
func (st *store) component(productID, id string) (*component, bool) {
	for _, c := range st.products[productID] {
		if c.ID == id {
			return c, true
		}
	}
	return nil, false
}

// item returns the index of the subscription's item id, or -1.
func (s *subscription) item(id string) int {
	return slices.IndexFunc(s.SubscriptionItems, func(it gen.SubscriptionItem) bool { return it.ID == id })
}

// metered tells whether item i of s is billed by usage: its component is
// usage-based or, for an item outside the catalog, it carries a usage.
func (st *store) metered(s *subscription, i int) bool {
	it := s.SubscriptionItems[i]
	if c, ok := st.component(s.ProductID, it.ID); ok {
		return c.Metered
	}
	return it.Usage != 0
}

// bump sets a new resourceVersion: now in milliseconds, always above the last one.
func (s *subscription) bump(now time.Time) {
	v := now.UnixMilli()
	if last, err := strconv.ParseInt(s.ResourceVersion, 10, 64); err == nil && last >= v {
		v = last + 1
	}
	s.ResourceVersion = strconv.FormatInt(v, 10)
}

// addPeriod moves t by n billing periods of unit: months unless year or day.
func addPeriod(t time.Time, unit string, n int) time.Time {
	switch unit {
	case string(gen.PeriodUnitYear):
		return t.AddDate(n, 0, 0)
	case string(gen.PeriodUnitDay):
		return t.AddDate(0, 0, n)
	}
	return t.AddDate(0, n, 0)
}

// unitPrice is the item's unit price for quantity q: the price of the
// stairstep tier q falls in (the last one starting at or below q, 0 below the
// first), else the component's price.
func (c *component) unitPrice(q float64) float64 {
	if c.Pricing != gen.Stairstep {
		return c.Price
	}
	var p float64
	for _, t := range c.Tiers {
		if t.StartingUnit <= q {
			p = t.Price
		}
	}
	return p
}

// amount is what the component costs for quantity q, in cents.
func (c *component) amount(q float64) float64 {
	if c.Pricing == gen.PerUnit {
		return c.Price * q
	}
	return c.unitPrice(q)
}

// invoicesOf returns the invoices of a subscription, oldest first.
func (st *store) invoicesOf(subID string) []*gen.Invoice {
	var out []*gen.Invoice
	for _, inv := range st.invoices {
		if inv.SubscriptionID == subID {
			out = append(out, inv)
		}
	}
	slices.SortStableFunc(out, func(a, b *gen.Invoice) int { return cmp.Compare(a.InvoiceDate, b.InvoiceDate) })
	return out
}

func (st *store) hasInvoice(id string) bool {
	return slices.ContainsFunc(st.invoices, func(inv *gen.Invoice) bool { return inv.InvoiceID == id })
}

// newInvoice builds a paid EUR invoice of lines (their entity type, component,
// description and amount), each taxed at taxRate.
func newInvoice(id, customerID, subID, productID string, at time.Time, lines []gen.InvoiceLineItem) gen.Invoice {
	inv := gen.Invoice{
		InvoiceID: id, CustomerID: customerID, SubscriptionID: subID, ProductID: productID,
		Status: "paid", CurrencyCode: "EUR", InvoiceDate: float64(at.Unix()), PaymentDate: float64(at.Unix()),
		LineItems: append([]gen.InvoiceLineItem{}, lines...),
	}
	var sum float64
	for i := range inv.LineItems {
		li := &inv.LineItems[i]
		li.InvoiceLineItemID, li.InvoiceID, li.SubscriptionID = fmt.Sprintf("li_%s_%d", id, i+1), id, subID
		li.TaxAmount, li.TaxRate = cents(li.Amount*taxRate/100), taxRate
		sum += li.Amount
		inv.TaxAmount += li.TaxAmount
	}
	inv.AmountTotal = sum + inv.TaxAmount
	inv.AmountPaid = inv.AmountTotal
	return inv
}

// cents rounds an amount to whole cents.
func cents(v float64) float64 { return math.Round(v) }

// clone deep-copies v through JSON, so that what leaves the store shares nothing
// with it.
func clone[T any](v T) (out T) {
	recode(v, &out)
	return out
}

// recode copies from into to through JSON.
func recode(from, to any) {
	b, err := json.Marshal(from)
	if err == nil {
		err = json.Unmarshal(b, to)
	}
	if err != nil {
		panic("billingtest: " + err.Error())
	}
}
