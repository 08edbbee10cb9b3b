package billing

// Subscription statuses seen in the platform. gen.Subscription.Status is an open
// string (the source schema has no enum), so a status added later still decodes;
// compare it with these constants.
const (
	StatusActive      = "active"
	StatusInTrial     = "in_trial"
	StatusNonRenewing = "non_renewing"
	StatusPaused      = "paused"
	StatusCancelled   = "cancelled"
	StatusFuture      = "future"
)
