// Package contract holds the contract tests of the SDK: checks by tools nobody in
// this project wrote that the vendored spec (openapi/billing.yaml), the generated
// client behind billing.Client and the fake billingtest agree.
//
// The tests start Stoplight Prism (npm @stoplight/prism-cli, pinned in
// tools/npm, installed by `make contract-tools` into .cache/npm) on free loopback
// ports, from the spec:
//
//   - static mock with --errors: each of the 9 operations through billing.Client
//     gets a 2xx whose body decodes into the generated types and encodes back to
//     the same JSON;
//   - dynamic mock (random answers the spec allows): at least 20 calls per
//     operation decode, every component on the type its componentType names;
//     Prism's own 500s, for random answers that break its spec, are counted apart;
//   - the failure side: requests that break the spec, sent with the SDK's own
//     checks off, are refused by Prism and come back as *billing.APIError;
//   - Prism as a validating proxy in front of billingtest: the fake's answers to
//     the 9 operations raise no sl-violations.
//
// Without node or Prism the tests skip, saying how to install them; with
// BILLING_CONTRACT=1 (set by .ci/run and `make contract`) they fail instead, and
// with BILLING_CONTRACT=0 they skip. PRISM names another Prism executable.
//
// TestLive runs the read-only operations against the real API in sandbox mode,
// checking every request and answer against the spec; `make live` runs it (see
// CONTRIBUTING.md).
package contract
