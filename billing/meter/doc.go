// Package meter records metered usage durably and reports it to Billing so that
// no unit is lost and none is counted twice, across crashes and restarts.
//
// Billing's usage call (SetSubscriptionItemUsage) adds to the current period and
// takes no idempotency key: a retry above the SDK counts twice, and a crash
// between counting and reporting loses units. Usage sent after the period end
// (the subscription's next_billing_at) lands on the next invoice. Chargebee,
// behind Billing, caps the usage records of a subscription: one call per event
// is not an option. A Meter solves these on the client side:
//
//   - Add records a Usage under a key derived from the billable fact (an order
//     id...): the same key counts once. When Add returns nil the usage is in the
//     journal, a Store: durable. Concurrent Adds share a transaction (group
//     commit).
//   - Flush seals what was recorded into batches, one per subscription item,
//     and sends each in one call. Run flushes on an interval and, whatever the
//     interval, a margin before each period end, which the Meter learns from
//     Billing's webhooks (Hook plugs into billing/webhook's Handler) or from
//     SetPeriodEnd.
//   - Each batch's state is journaled before and after its call; a call is never
//     sent twice by the Meter.
//
// # States of a batch
//
//	pending ──claim──▶ sending ──2xx──────────────▶ sent
//	   ▲                  │ ├──4xx (not 429)──────▶ refused ──Resolve(NotApplied)──▶ pending
//	   │                  │ ├──outcome unknown────▶ unknown ──Resolve(Applied)─────▶ sent
//	   │                  │ └──lease ended (crash)▶ unknown ──Resolve(NotApplied)──▶ pending
//	   └──nothing sent────┘   (429, token, network before sending: next flush)
//
// Pending: sealed, waiting for a flush. Sending: claimed by one flusher, with an
// owner token and a lease; only that owner records the outcome. Sent: Billing
// answered 2xx. Refused: Billing refused it (400, 404...), kept with its error,
// never sent again on its own. Unknown (parked): the call failed with
// billing.ErrOutcomeUnknown (a 5xx, a connection lost after sending, a deadline),
// or a flusher died while holding it (its lease ended: the next flush of any
// instance parks it). Parked usage is not lost, and never sent again on its own.
//
// Late usage: usage recorded before a period end that had passed when it was
// sealed, or when its batch was sent (after failures that sent nothing), missed
// its invoice. It is sent (Billing counts it in the current period) and
// reported, never moved silently: Batch.Late and MissedPeriodEnd, Report.Late,
// and a log line. Usage already late when sealed is batched apart.
//
// # Resolving a parked batch
//
// Parked lists the Unknown batches with their usages, when they were sent
// (Batch.ClaimedAt) and why they are parked (Batch.Error), and a Proposal. Decide
// whether Billing counted each one, and say so with Resolve:
//
//   - Applied: Billing counted it; the batch becomes Sent.
//   - NotApplied: it did not; the batch becomes Pending and the next flush sends
//     it again.
//
// The evidence is the invoice of the period the batch was sent in (the first
// invoice dated after ClaimedAt): its line for the item. For an item priced per
// unit, the line's amount over the unit price is the quantity Billing counted;
// Parked does that arithmetic against the batches the journal holds as Sent in
// the period, and proposes a resolution when exactly one set of the period's
// parked batches accounts for the rest. Otherwise (tiered pricing, no invoice
// yet, usage sent to the item by other means) it says why not, and the decision
// is the caller's, with Billing's support if need be. A batch of the item sent
// within a lease (WithLease; the same on every instance) of a period end may be
// on either invoice: no proposal then either. Resolving wrongly counts
// the batch twice or never: the Meter never guesses.
//
//	parked, err := m.Parked(ctx)
//	for _, p := range parked {
//		if p.Proposal.Resolution != meter.NoResolution {
//			err = m.Resolve(ctx, p.Batch.ID, p.Proposal.Resolution, p.Proposal.Reason)
//		}
//	}
//
// NotApplied also sends a Refused batch again, once its cause is fixed.
//
// # Journal
//
// A Store holds the journal. NewMemoryStore is for tests. For a service, use
// package billing/sqlstore: a SQLite file by default (sqlstore.OpenSQLite:
// pure Go, write-ahead log, synchronous=FULL, created and migrated on first
// use), or PostgreSQL, where several instances of a service share one database:
// any instance records, flushes spread over instances without two sending the
// same batch, and a crashed instance's in-flight batches are parked.
//
//	db, err := sqlstore.OpenSQLite("usage.db") // import _ "modernc.org/sqlite"
//	store, err := db.Meter(ctx)
//	m, err := meter.New(client, store, meter.WithSandbox(sandbox))
//	defer m.Close()
//	go m.Run(ctx)
//
// Sandbox and live usage are kept apart: the Meter is told its mode
// (WithSandbox), the mode is part of every key of the journal, and a flush sends
// only its mode's batches, with billing.Sandbox set accordingly.
//
// Package metertest checks a Store implementation.
package meter
