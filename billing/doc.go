// Package billing is a Go client of the PrestaShop Billing API (gateway v1): read a
// product's plans and addons, create customers, estimate and change subscriptions,
// set quantities, report usage, add charges at term and fetch invoices.
//
// Every operation of the vendored spec is a method of Client, with the models that
// oapi-codegen generates from the spec (package gen, which holds no client):
//
//	client, err := billing.NewClient(
//		billing.WithClientCredentials(os.Getenv("BILLING_CLIENT_ID"), os.Getenv("BILLING_CLIENT_SECRET")),
//		billing.WithSandbox(true),
//	)
//	...
//	resp, err := client.SetSubscriptionItemQuantity(ctx, subscriptionID, itemID, gen.QuantityInput{Quantity: 12})
//	if err != nil {
//		return err // *billing.APIError, *billing.InvalidRequestError, ErrOutcomeUnknown, ...
//	}
//	fmt.Println(resp.Item.Quantity)
//
// Around those models it adds:
//
//   - Access tokens: the OAuth2 client-credentials grant (HTTP Basic and client_id in
//     the form, audience, scopes), cached and renewed shortly before expiry; concurrent
//     first calls share one token request; a 401 drops the token and replays the call
//     once with a fresh one (a non-idempotent call only when the 401 says the token
//     was refused, see RetryPolicy). WithTokenSource plugs in any other token.
//   - Sandbox mode for the whole client (WithSandbox) or one call (Sandbox).
//   - Retries by RetryPolicy, with a guarantee for the non-idempotent operations
//     (usage, charge at term, customer creation): they are sent again only when the
//     server cannot have acted, by the SDK or by net/http under it (no transport
//     replay, no redirect followed); any failure after which the server may have
//     applied one wraps ErrOutcomeUnknown.
//   - Errors: every non-2xx answer is an *APIError; a request that breaks the spec
//     is refused before it is sent with an *InvalidRequestError naming the field.
//   - Pagination: Client.Invoices iterates over all invoices of a subscription.
//   - An interface, API, that *Client satisfies, for callers' test doubles.
//
// Package billing/billingtest runs an in-process fake of the API for tests.
package billing
