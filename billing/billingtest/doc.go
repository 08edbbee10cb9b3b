// Package billingtest is an in-process, stateful fake of the PrestaShop Billing
// API and of its OAuth2 token server, for the tests of code that uses
// billing.Client: what net/http/httptest is to net/http.
//
//	srv := billingtest.NewServer(billingtest.WithT(t))
//	client := srv.Client() // base URL, token URL, credentials: all wired
//	srv.Fault("setSubscriptionItemUsage", billingtest.Fault{Drop: true, Apply: true})
//	_, err := client.SetSubscriptionItemUsage(ctx, billingtest.SubscriptionID, billingtest.APICallsAddonID, gen.UsageInput{UsageQuantity: 10})
//	// err wraps billing.ErrOutcomeUnknown; srv.Applied("setSubscriptionItemUsage") is 1
//
// NewServer starts both on 127.0.0.1 (WithTLS: over HTTPS and HTTP/2, as the
// real API). The token endpoint (Server.TokenURL) behaves like the Ory Hydra
// server in front of the real API for one client registered with
// client_secret_basic: HTTP Basic client authentication, the client credentials
// grant, audience Audience, the scopes of Scopes; refusals are Hydra's
// (invalid_client, invalid_scope, invalid_request). Tokens are RS256 JWTs with
// Hydra's claims.
//
// The API (Server.URL) serves the nine operations of the embedded OpenAPI spec
// from memory, with one store for live requests and an independent one for
// sandbox requests (header "sandbox: true"), each seeded with DefaultSeed or
// WithSeed. Every call is counted (Server.Requests), authenticated (401; 403
// INSUFFICIENT_SCOPE without the operation's scope), validated against the spec
// (400 naming the field), then faulted if a Fault is queued, then carried out
// (Server.Applied counts the 2xx), and its answer checked against the spec: an
// answer that breaks it is a bug of the fake, a test error with WithT, else a
// 500.
//
// Where the spec and the facts about the real API are silent, the fake decides:
// addCustomer's id must be the token's sub; estimates price the plan for the
// quantity with 20% tax, and the only coupon is WELCOME10 (10% off);
// setSubscriptionItemQuantity sets (not adds) the quantity of a per_unit or
// stairstep item that is not metered; setSubscriptionItemUsage adds to a metered
// item's usage of the current period; addSubscriptionChargeAtTerm needs an active
// or non_renewing subscription; getInvoices pages newest first by default;
// getInvoiceDownload links to a signed PDF on the fake itself, valid five
// minutes by the server's clock (WithClock).
//
// Nothing bills by itself: Server.CloseBillingPeriod issues a subscription's
// invoice (plans, quantities, usage, charges at term, 20% tax) and starts the
// next period. Accessors (Server.Subscription, Usage, PendingCharges, Invoices,
// Customer) read the stores.
//
// WithWebhook sends Billing's webhooks, signed, to the endpoint under test when
// the state changes, retried on Billing's schedule (compressed) after a failed
// delivery; FlushWebhooks waits for them, WebhookFault scripts duplicates and
// reordering, and CreateSubscription is the fake-only step of a merchant
// subscribing.
//
// A Server is safe for concurrent use.
package billingtest
