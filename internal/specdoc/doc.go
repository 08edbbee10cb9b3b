// Package specdoc embeds openapi/billing.yaml as it is vendored (GetSpec), for
// internal/spec: the openapi3filter checks of requests and answers that billingtest,
// the contract checks and the SDK's tests run. Package billing does not import it.
//
// Do not edit specdoc.gen.go by hand: run `make generate`.
package specdoc

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config ../../openapi/oapi-codegen-specdoc.yaml ../../openapi/billing.yaml
