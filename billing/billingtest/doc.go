// Package billingtest provides an in-process, stateful fake of the PrestaShop
// Billing API and of its OAuth2 token server, for tests: what net/http/httptest
// is to net/http.
//
// NewServer starts both on 127.0.0.1. The token endpoint (Server.TokenURL)
// behaves like the Ory Hydra server in front of the real API, for one client
// registered with client_secret_basic: the client credentials grant only, HTTP
// Basic client authentication only (401 invalid_client otherwise), a client_id
// in the form must match it, each audience must be Audience (400
// invalid_request "has not been whitelisted"), each scope one the client may
// request (400 invalid_scope). As with Hydra, the audience may be left out: the
// token then has none, and the API refuses it. Tokens are RS256 JWTs with a kid
// and Hydra's claims: iss (URL + "/"), sub and client_id (the client id), aud
// (array), jti, iat, nbf, exp, scp (array) and ext ({}).
//
// The API (Server.URL) serves the nine operations
// of the embedded OpenAPI spec from memory, with one store for live requests
// and an independent one for sandbox requests (header "sandbox: true" or query
// "sandbox=true"), each seeded with DefaultSeed or WithSeed.
//
// Every API request goes through the same steps:
//
//  1. Routing: an unknown method and path answers 404 with the spec's error body.
//  2. Counting: Server.Requests counts the call, whatever happens next.
//  3. Authentication: a missing, malformed, wrongly signed, non-RS256, expired
//     (by the server's clock) token, or one from another Server or without the
//     audience, answers 401; a token without a scope the operation requires (the
//     spec's security requirement) answers 403 INSUFFICIENT_SCOPE.
//  4. Request validation against the spec: an invalid request answers 400
//     BAD_REQUEST with a message naming the field. The fake answers 400 and
//     401 on every operation, even where the spec declares no such response
//     (no 400 for getInvoices, addCustomer, addSubscriptionEstimateForCustomer
//     and getInvoiceDownload; no 401 for getProductComponents), as a gateway
//     in front of the real service would.
//  5. Fault injection (Server.Fault): a scripted status, redirect, stall or
//     dropped connection replaces the rest of the steps, or follows the state
//     change (Fault.Apply, DropAfterApply); or the answer is cut short
//     (Fault.Truncate) or padded beyond reason (Fault.Pad).
//  6. The operation itself, on the store; Server.Applied counts the calls that
//     succeeded (2xx), that is the changes actually made.
//  7. Response validation: an answer of the fake that breaks the spec is a bug
//     of the fake. With WithT it fails the test (t.Errorf); without, the client
//     gets 500 instead. Either way Server.Violations records it. A 400 or 401
//     on an operation that does not declare it, and injected faults, are not
//     validated.
//
// Where the spec and the facts about the real API are silent, the fake decides
// as follows:
//
//   - getProductComponents: details are returned only with lang_iso_code (the
//     same text whatever the language); filter_period_unit returns only plans of
//     that period, never addons, which have no period.
//   - addCustomer: the id must equal the token's sub (403 FORBIDDEN otherwise).
//     Client-credentials tokens carry no email, so the email is checked only when
//     the token has an email claim. A second customer with the same id answers
//     403 CUSTOMER_ALREADY_EXISTS.
//   - addSubscriptionEstimateForCustomer: the component must be a plan of the
//     product (else 404, like an unknown customer, product or subscription).
//     The price is the plan's price for the quantity (default 1): flat_fee the
//     price, per_unit price × quantity, stairstep the price of the step the
//     quantity falls in. Tax is 20% ("TVA 20%", France). The only coupon is
//     WELCOME10 (10% off the subtotal); any other answers 404 COUPON_NOT_FOUND.
//   - setSubscriptionItemQuantity: only per_unit and stairstep items that are
//     not metered have a quantity (400 otherwise). It sets the quantity (not
//     cumulative) and the item's amount; a new quantity bumps resourceVersion.
//   - setSubscriptionItemUsage: only metered (isUsageBased) items (400
//     otherwise); the quantity is added to the current period's usage.
//   - addSubscriptionChargeAtTerm: the subscription must be active or
//     non_renewing (400 otherwise); the charge waits for the next invoice.
//   - updateSubscription: the new component must be a plan of the
//     subscription's product (404 if unknown, 400 if not a plan). It replaces the
//     plan item of the same component group, or else the first plan item, and
//     sets the billing period unit; changing group and period at once answers
//     400. couponCode must be WELCOME10 if given and is otherwise ignored. Each
//     change bumps resourceVersion (milliseconds, always increasing).
//   - getInvoices: type must be "subscription" and order "asc" or "desc", in
//     any case (default "desc", by invoice date), else 400; an unknown subscription
//     answers 404. total counts all matches. limit and offset may be any
//     number, as in the API's schema: fractions are truncated, and a negative
//     value counts as 0.
//   - getInvoiceDownload: the link points at the fake itself
//     (URL/invoices/ID.pdf), is signed, valid five minutes by the server's
//     clock, and serves a tiny PDF without a token.
//
// Nothing bills by itself: Server.CloseBillingPeriod ends a subscription's
// period and issues its invoice (plan lines, quantity lines, usage × unit price,
// pending charges at term as adhoc lines, 20% tax), then resets the usage and
// the pending charges. Accessors (Server.Subscription, Server.Usage,
// Server.PendingCharges, Server.Invoices, Server.Customer) read the stores.
//
// WithTLS serves the API over HTTPS and HTTP/2, as the real one is; NewOrigin
// adds a listener on another port (plain HTTP or HTTPS) that serves the same
// fake and records what it receives: the target of a scripted redirect, to
// prove that a client never follows one, nor sends its credentials to another
// origin.
//
// WithWebhook sends Billing's webhooks, signed, to the endpoint under test when
// the state changes (customer.created, subscription.created and .updated,
// payment.succeeded), from a queue that API calls never wait for; a failed
// delivery is retried on Billing's schedule, compressed. FlushWebhooks waits
// for them, WebhookFault scripts duplicates and reordering, and
// CreateSubscription is the fake-only step of a merchant subscribing.
//
// A Server is safe for concurrent use.
package billingtest
