package billingtest

import "github.com/prestashopcorp/billing-sdk-go/gen"

// Subscription returns a copy of the subscription of the sandbox or live store.
func (s *Server) Subscription(id string, sandbox bool) (gen.Subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.store(sandbox).subs[id]
	if !ok {
		return gen.Subscription{}, false
	}
	return clone(sub.Subscription), true
}

// Usage returns the usage of a subscription item in the current billing period
// (0 for an unknown subscription or item).
func (s *Server) Usage(subscriptionID, itemID string, sandbox bool) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.store(sandbox).subs[subscriptionID]
	if !ok {
		return 0
	}
	i := sub.item(itemID)
	if i < 0 {
		return 0
	}
	return sub.SubscriptionItems[i].Usage
}

// PendingCharges returns the charges at term waiting for the subscription's next
// invoice, oldest first.
func (s *Server) PendingCharges(subscriptionID string, sandbox bool) []gen.ChargeAtTerm {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.store(sandbox).subs[subscriptionID]
	if !ok {
		return nil
	}
	return clone(sub.charges)
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
	c, ok := s.store(sandbox).customers[id]
	if !ok {
		return gen.Customer{}, false
	}
	return clone(c), true
}
