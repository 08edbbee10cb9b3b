// Package rawclient is oapi-codegen's own client of the Billing API, generated with
// its built-in templates over gen's models. It has none of billing.Client's
// guarantees (no token, no retry rules, no checks, no bound on answers): the SDK's
// tests use it as the raw layer, to send what billing.Client would refuse and to
// compare internal/ops's request builders with oapi-codegen's. Partners use
// billing.Client.
//
// Do not edit rawclient.gen.go by hand: run `make generate`.
package rawclient

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config ../../openapi/oapi-codegen-rawclient.yaml ../../openapi/billing.yaml
