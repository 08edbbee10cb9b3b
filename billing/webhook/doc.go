// Package webhook receives PrestaShop Billing's webhooks: verified, typed, once
// and in order.
//
// Billing notifies a partner's endpoint of subscription, payment and customer
// changes: the subscription id and subscription item ids that the API's
// quantity, usage and charge-at-term calls need arrive this way, and so do
// renewals (Subscription.NextBillingAt: send quantities and usage before it)
// and payment results. Each body is {"eventType": ..., "data": {...}} with
// Chargebee objects in snake_case (Customer, Subscription, Transaction); Decode
// and the Verifiers turn it into an Event, whose typed data depends on its Type.
// Amounts are cents as Billing sends them, timestamps Timestamp (Unix seconds,
// any JSON number, Time()), unknown fields stay in the objects' Raw, and an
// unknown event type is delivered as it is.
//
// # Verification
//
// Billing's webhook system signs every delivery the Svix way (Standard Webhooks):
// svix-id, svix-timestamp and svix-signature headers, an HMAC-SHA256 of
// "id.timestamp.body" with the whsec_ secret Billing gives, several signatures
// while secrets rotate. NewSignatureVerifier checks them (webhook-* header names
// too), in constant time, with a 5-minute timestamp tolerance by default; give it
// the old and the new secret during a rotation. The legacy system sends a static
// "Authorization: Basic <token>" instead: NewBasicVerifier. Verify does the Svix
// check in one call, like stripe-go's ConstructEvent. A Signer signs test
// deliveries the same way.
//
// # Receiving
//
// NewHandler returns the http.Handler of the endpoint: it bounds the body,
// verifies before decoding, dispatches by type to the functions registered with
// On, and answers 2xx only when the function succeeded, so that Billing's retries
// (for about a day) deliver again what failed. 401 is a bad signature, 400 a
// malformed payload, 413 a body too large, 408 a body that did not arrive within
// the read timeout (WithReadTimeout), 500 a function that failed or panicked (the
// panic is recovered and logged, nothing is recorded, Billing delivers again).
// Set the http.Server's timeouts too (see Handler).
//
// # Once and in order
//
// Billing delivers at least once, and may deliver late or out of order. A Tracker
// (WithTracker) skips a message it processed (same message id) and an event older
// than the newest version processed of its entity (resource_version), on a Store:
// MemoryStore for tests and single-process services, or PostgreSQL or SQLite
// through package billing/sqlstore, shared by every instance of a service: a
// message runs once across instances, an entity's events one at a time.
//
// Package billingtest's fake Billing API sends these webhooks, signed, when its
// state changes (billingtest.WithWebhook), for end-to-end tests.
package webhook
