// Package gen holds the Go code that oapi-codegen generates from openapi/billing.yaml:
// the models, the client (ClientWithResponses), the strict net/http server interface
// used by billingtest, and the embedded spec (GetSwagger).
//
// Do not edit billing.gen.go by hand: run `make generate`.
package gen

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config ../openapi/oapi-codegen.yaml ../openapi/billing.yaml
