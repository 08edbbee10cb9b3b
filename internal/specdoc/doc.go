// Package specdoc embeds openapi/billing.yaml as it is vendored (GetSpec), for
// the request and response checks of package billing and of billingtest.
//
// Do not edit specdoc.gen.go by hand: run `make generate`.
package specdoc

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config ../../openapi/oapi-codegen-specdoc.yaml ../../openapi/billing.yaml
