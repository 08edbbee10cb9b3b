package meter

import (
	"context"
	"errors"
	"time"
)

// Mode is the mode of the usage a Meter records: live or sandbox. It is part of
// every key of the journal, so that sandbox usage is never sent as live usage, nor
// counted against it.
type Mode string

// The modes, as the journal stores them.
const (
	Live    Mode = "live"
	Sandbox Mode = "sandbox"
)

// Usage is a quantity of a metered subscription item that a billable fact used.
type Usage struct {
	// Key identifies the billable fact (an order id, a request id, "emails/2026-12-04/shop42"):
	// the same key recorded twice, by any instance, counts once. Derive it
	// from the fact, never from the attempt to record it. At most MaxKeyLen bytes
	// of UTF-8 without NUL bytes (as SubscriptionID and ItemID each).
	Key string
	// SubscriptionID and ItemID name the subscription and its metered item (the
	// item price id webhooks carry), as SetSubscriptionItemUsage takes them.
	SubscriptionID string
	ItemID         string
	// Quantity is how much was used: positive and finite. A batch is sent
	// as the sum of its quantities rounded to QuantityDecimals decimal places.
	Quantity float64
	// At is when the usage was recorded, by the Meter's clock: Add sets it
	// when it is zero or later than the clock's now, and rounds it to the
	// microsecond (what Stores keep).
	At time.Time
}

// QuantityDecimals is how many decimal places of a batch's quantity are sent:
// the sum of usages of 0.1 and 0.2 is sent as 0.3, not as the
// 0.30000000000000004 that binary floating point adds up to.
const QuantityDecimals = 9

// MaxKeyLen is the longest Usage.Key, in bytes.
const MaxKeyLen = 255

// State is where a batch is in its life: Pending, Sending, then Sent, Refused or
// Unknown.
type State string

// The states of a batch, as the journal stores them.
const (
	// Pending: sealed (its quantity is fixed), not being sent. The next flush
	// claims it.
	Pending State = "pending"
	// Sending: claimed by one flusher, which holds a lease on it and is sending
	// it. Only that flusher may record the outcome; if its lease ends first,
	// the batch becomes Unknown.
	Sending State = "sending"
	// Sent: Billing answered 2xx: the usage is counted. Final.
	Sent State = "sent"
	// Refused: Billing refused it (a 4xx other than 429, or the SDK refused
	// the request before sending it): nothing was counted. Kept with its error;
	// Resolve with NotApplied sends it again once the cause is fixed.
	Refused State = "refused"
	// Unknown (parked): the outcome is unknown: the call ended in
	// billing.ErrOutcomeUnknown, or a flusher stopped (a crash) while it held
	// the batch. Never sent again on its own: Resolve it.
	Unknown State = "unknown"
)

// Batch is the usage of one subscription item sent in one call: the sum of the
// usages a flush sealed together.
type Batch struct {
	ID             int64
	Mode           Mode
	SubscriptionID string
	ItemID         string
	Quantity       float64 // the sum of its usages; the call's usageQuantity is it rounded to QuantityDecimals
	Usages         int     // how many usages it sums
	FirstAt        time.Time
	LastAt         time.Time // when its first and last usages were recorded

	// Late is set when some of its usage was recorded before a period end
	// (next_billing_at) that had passed when the batch was sealed, or when it
	// was claimed to be sent (a batch that waited across the end, after
	// failures that sent nothing): that usage missed its invoice and lands on
	// the next one. MissedPeriodEnd is that end. Usage already late when sealed
	// is batched apart from usage that is on time.
	Late            bool
	MissedPeriodEnd time.Time

	State State
	// Error is why the batch is Refused or Unknown, or why its last attempt
	// sent nothing (it is Pending again).
	Error string
	// Note is what the caller said when it resolved the batch.
	Note string

	Attempts   int       // how many times a flusher claimed it
	ClaimedAt  time.Time // when the last claim began: the time of the send
	Owner      string    // the token of the flusher that claimed it last
	LeaseUntil time.Time // until when that flusher holds it (Sending)
	CreatedAt  time.Time // when it was sealed
	UpdatedAt  time.Time // when its state last changed
}

// Errors of a Store, wrapped by the errors of the Meter (use errors.Is).
var (
	// ErrNotOwner: the batch is not held by the claim that tries to complete
	// it (its lease ended and the caller resolved it, or another token).
	ErrNotOwner = errors.New("batch not held by this claim")
	// ErrNotFound: no batch has this id in this mode.
	ErrNotFound = errors.New("no such batch")
	// ErrState: the batch is not in a state that allows the change.
	ErrState = errors.New("the batch's state does not allow this")
)

// A Store is the journal of a Meter: the usages recorded and the batches they
// are sent in, with their states. Every method is atomic: it changes all it says
// or nothing, and a nil error means the change is durable. Several Meters (in one
// process or many) may share a Store, each in its mode; the methods must then
// keep the promises below under concurrency. Times are kept to the microsecond.
//
// NewMemoryStore keeps the journal in memory; package billing/sqlstore keeps it
// in SQLite or PostgreSQL. Package metertest checks an implementation.
type Store interface {
	// Record stores usages of mode, skipping any whose Key mode already holds
	// (recorded earlier or earlier in usages): the first recording wins.
	// Instances may record the same keys at once, each in its own order: every
	// such Record succeeds (a database store inserts in one order, say the
	// keys', lest two of them wait on each other).
	Record(ctx context.Context, mode Mode, usages []Usage) error

	// SetPeriodEnd records that the current billing period of the subscription
	// ends at end (its next_billing_at). An end after now replaces the other
	// ends after now (a plan change moves it); ends at or before now are kept,
	// as periods that closed.
	SetPeriodEnd(ctx context.Context, mode Mode, subscriptionID string, end, now time.Time) error
	// NextPeriodEnds returns, for each subscription of mode with a period end
	// after now, the earliest one.
	NextPeriodEnds(ctx context.Context, mode Mode, now time.Time) (map[string]time.Time, error)

	// Seal groups the usages of mode recorded and not yet in a batch into new
	// Pending batches, one per subscription item and lateness (see Batch.Late:
	// a usage is late if a period end of its subscription falls in (At, now]).
	// Each usage ends up in exactly one batch, even when instances seal at once.
	// It returns how many batches it made.
	Seal(ctx context.Context, mode Mode, now time.Time) (int, error)

	// Claim moves up to limit Pending batches of mode to Sending, held by
	// owner until leaseUntil, sets their ClaimedAt to now, marks them Late if a
	// period end of their subscription falls in (FirstAt, now], and returns
	// them, oldest first. It passes over the batches owner itself put back to Pending
	// (a flush's token is new each time: what it could not send waits for the
	// next flush). Concurrent claims never return the same batch.
	Claim(ctx context.Context, mode Mode, owner string, now, leaseUntil time.Time, limit int) ([]Batch, error)

	// Complete records the outcome of the send of a batch owner claimed: to is
	// Sent, Refused, Unknown, or Pending (nothing was sent: the next flush
	// sends it again); errText is kept in Batch.Error. The batch must be
	// Sending, or Unknown after its lease ended, and still held by owner; else
	// ErrNotOwner (ErrNotFound for an unknown id). The batch keeps owner as
	// its Owner, Pending included; Resolve clears it.
	Complete(ctx context.Context, mode Mode, id int64, owner string, to State, errText string, now time.Time) error

	// Expire parks the batches of mode still Sending whose lease ended before
	// now: they become Unknown. It returns how many. It may pass over a batch
	// that a concurrent call holds (a Complete, another instance's Expire),
	// rather than wait for it; a later Expire parks it if it is still Sending.
	Expire(ctx context.Context, mode Mode, now time.Time) (int, error)

	// Resolve records the caller's word on an Unknown batch: applied (Billing
	// counted it) makes it Sent; not applied makes it Pending, to be sent again.
	// A Refused batch may be made Pending the same way (not applied), never
	// Sent. Other states: ErrState. note is kept in Batch.Note.
	Resolve(ctx context.Context, mode Mode, id int64, applied bool, note string, now time.Time) error

	// Batches returns the batches of mode in state, oldest first ("" for all).
	Batches(ctx context.Context, mode Mode, state State) ([]Batch, error)
	// Batch returns one batch, or ErrNotFound.
	Batch(ctx context.Context, mode Mode, id int64) (Batch, error)
	// BatchUsages returns the usages of a batch, in key order.
	BatchUsages(ctx context.Context, mode Mode, id int64) ([]Usage, error)
	// Unsealed returns how many usages of mode are in no batch yet, and their
	// total quantity.
	Unsealed(ctx context.Context, mode Mode) (n int, quantity float64, err error)
}
