package billingtest

// usageLog counts, per mode and subscription item, the usage the server
// applied since it started, across billing periods (CloseBillingPeriod resets
// the period's usage, not this). The Server's mutex guards it.
type usageLog map[usageKey]ItemUsage

type usageKey struct {
	sandbox         bool
	subscription, i string
}

// ItemUsage is what the server applied to one subscription item since it
// started: the total quantity and the number of calls that carried it.
type ItemUsage struct {
	Quantity float64
	Calls    int
}

// add counts one applied usage call. The caller holds the Server's mutex.
func (l *usageLog) add(sandbox bool, subscriptionID, itemID string, q float64) {
	if *l == nil {
		*l = usageLog{}
	}
	k := usageKey{sandbox, subscriptionID, itemID}
	u := (*l)[k]
	u.Quantity += q
	u.Calls++
	(*l)[k] = u
}

// UsageReceived returns the usage the server applied to a subscription item of
// the sandbox or live store since it started, across billing periods, and how
// many setSubscriptionItemUsage calls carried it: what a client's own count must
// match. A call a Fault answered after applying it (Apply, DropAfterApply,
// Truncate, Pad) counts; a refused one does not.
func (s *Server) UsageReceived(subscriptionID, itemID string, sandbox bool) ItemUsage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage[usageKey{sandbox, subscriptionID, itemID}]
}
