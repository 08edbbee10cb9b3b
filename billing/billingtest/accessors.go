package billingtest

import "github.com/prestashopcorp/billing-sdk-go/gen"

// Subscription returns a copy of the subscription of the sandbox or live store.
func (s *Server) Subscription(id string, sandbox bool) (gen.Subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub, ok := s.store(sandbox).subs[id]; ok {
		return clone(sub.Subscription), true
	}
	return gen.Subscription{}, false
}

// Usage returns the usage of a subscription item in the current billing period
// (0 for an unknown subscription or item).
func (s *Server) Usage(subscriptionID, itemID string, sandbox bool) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub, ok := s.store(sandbox).subs[subscriptionID]; ok && sub.item(itemID) >= 0 {
		return sub.SubscriptionItems[sub.item(itemID)].Usage
	}
	return 0
}

// PendingCharges returns the charges at term waiting for the subscription's next
// invoice, oldest first.
func (s *Server) PendingCharges(subscriptionID string, sandbox bool) []gen.ChargeAtTerm {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub, ok := s.store(sandbox).subs[subscriptionID]; ok {
		return clone(sub.charges)
	}
	return nil
}

// Invoices returns copies of the subscription's invoices, oldest first.
func (s *Server) Invoices(subscriptionID string, sandbox bool) []gen.Invoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gen.Invoice
	for _, inv := range s.store(sandbox).invoicesOf(subscriptionID) {
		out = append(out, clone(*inv))
	}
	return out
}

// Customer returns a copy of the customer of the sandbox or live store.
func (s *Server) Customer(id string, sandbox bool) (gen.Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.store(sandbox).customers[id]; ok {
		return clone(c), true
	}
	return gen.Customer{}, false
}

type usageKey struct {
	st                 *store
	subscription, item string
}

// ItemUsage is what the server applied to one subscription item since it
// started: the total quantity and the number of calls that carried it.
type ItemUsage struct {
	Quantity float64
	Calls    int
}

// UsageReceived returns the usage the server applied to a subscription item of
// the sandbox or live store since it started, across billing periods, and how
// many setSubscriptionItemUsage calls carried it: what a client's own count must
// match. A call a Fault answered after applying it (Apply, with a Status, Drop
// or Respond) counts; a refused one does not.
func (s *Server) UsageReceived(subscriptionID, itemID string, sandbox bool) ItemUsage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage[usageKey{s.store(sandbox), subscriptionID, itemID}]
}
