// Package fakeapi holds the strict net/http server interface that oapi-codegen
// generates from openapi/billing.yaml (with openapi/overlay.yaml), implemented by
// billingtest, and ErrorResponse, an error answer every operation accepts
// (openapi/templates/fakeapi-errors.tmpl). Its request and response types use the
// models of package gen.
//
// Do not edit fakeapi.gen.go by hand: run `make generate`.
package fakeapi

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config ../../../../openapi/oapi-codegen-fakeapi.yaml ../../../../openapi/billing.yaml
