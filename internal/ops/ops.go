// Package ops holds what the client needs to know of the Billing API spec at run
// time, generated from openapi/billing.yaml at `make generate` time (by
// internal/cmd/opsgen): the operations (method, path, x-idempotent, declared
// statuses), and for each operation a builder of its request and a check of its
// typed inputs that refuses what the spec refuses, naming the field as
// openapi3filter does.
//
// Nothing here parses or compiles the spec: a call pays for its checks only the
// comparisons they make, and its request is built with one URL parse. The spec stays
// the single source: the generator reads it; a test of package billing proves the
// checks agree with openapi3filter on valid and invalid inputs of every operation,
// and a test here that the builders make the requests gen's builders make.
//
// Do not edit ops.gen.go by hand: run `make generate`.
package ops

//go:generate go run ../cmd/opsgen -spec ../../openapi/billing.yaml -gen ../../gen/billing.gen.go -o ops.gen.go

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Operation is one operation of the spec.
type Operation struct {
	ID         string // operationId, e.g. "setSubscriptionItemUsage"
	Method     string // HTTP method
	Path       string // path template, e.g. "/v1/invoices/{invoiceId}/download"
	Idempotent bool   // the operation's x-idempotent
	Statuses   []int  // response statuses the spec declares, ascending

	// Params are the parameters the spec declares that the typed inputs do not
	// carry (the sandbox header and query parameter): only a request editor sets
	// them, so CheckRequest checks them on the request as it is sent.
	Params []Param
	// BodyTypes are the media types the request body may have; none when the
	// operation takes no body.
	BodyTypes []string
}

// Param is a parameter that CheckRequest checks: optional, with no empty value
// allowed, of type boolean (the generator refuses any other).
type Param struct {
	In   string // "header" or "query"
	Name string // as the spec writes it
	Key  string // a header's key in http.Header (its canonical form)
	Type string // its schema's type, "boolean"
}

// Declares reports whether the spec declares the response status for the operation.
func (o *Operation) Declares(status int) bool { return slices.Contains(o.Statuses, status) }

// FieldError is a request that breaks the spec. Field and Reason read as
// openapi3filter's errors do through internal/spec: Field is a body field
// ("usageQuantity", "coupon.couponCode"), "path parameter subscriptionId", "query
// parameter limit", "header parameter sandbox" or "body"; Reason is e.g. "number
// must be more than 0".
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Reasons, in openapi3filter's words.
const (
	reasonRequired = "value is required but missing"
)

// invalidNumber is the reason of a number query parameter that does not parse: a NaN
// or an infinity, which the generated request builder writes as NaN, +Inf or -Inf.
func invalidNumber(v float64) string {
	return "value " + strconv.FormatFloat(v, 'f', -1, 64) + ": an invalid number: invalid syntax"
}

// CheckRequest checks what request editors may have set on a request built from
// valid typed inputs: the declared parameters the typed inputs do not carry (o.Params)
// and the body's Content-Type. It costs a header lookup per parameter, and parses the
// query only when it may hold one of them.
func (o *Operation) CheckRequest(h http.Header, rawQuery string) *FieldError {
	var query url.Values
	for _, p := range o.Params {
		var values []string
		switch p.In {
		case "header":
			values = h[p.Key]
			if len(values) > 1 {
				values = values[:1] // openapi3filter reads the first
			}
		case "query":
			if rawQuery == "" || !strings.Contains(rawQuery, p.Name) && !strings.Contains(rawQuery, "%") {
				continue
			}
			if query == nil {
				query, _ = url.ParseQuery(rawQuery) // openapi3filter skips malformed pairs too
			}
			values = query[p.Name]
		}
		if len(values) == 0 {
			continue // absent
		}
		// The first non-empty value, as openapi3filter reads a repeated parameter.
		v := values[0]
		for _, w := range values {
			if w != "" {
				v = w
				break
			}
		}
		if v == "" {
			return &FieldError{Field: p.In + " parameter " + p.Name, Reason: "empty value is not allowed"}
		}
		if _, err := strconv.ParseBool(v); err != nil {
			return &FieldError{Field: p.In + " parameter " + p.Name, Reason: "value " + v + ": an invalid boolean: invalid syntax"}
		}
	}
	if len(o.BodyTypes) > 0 {
		ct := h.Get("Content-Type")
		mt := strings.ToLower(strings.TrimSpace(ct))
		base, _, _ := strings.Cut(mt, ";")
		if !slices.Contains(o.BodyTypes, mt) && !slices.Contains(o.BodyTypes, strings.TrimSpace(base)) {
			return &FieldError{Field: "body", Reason: "header Content-Type has unexpected value " + strconv.Quote(ct)}
		}
	}
	return nil
}

// newRequest makes the request of a generated builder: url is the whole URL, body
// the JSON body (nil for none).
func newRequest(ctx context.Context, method, url string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body) // a type net/http knows: GetBody is set
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header["Content-Type"] = []string{"application/json"}
	}
	return req, nil
}

// appendQuery appends the query parameter name=value to q, unless value is empty:
// no parameter of the API gives a meaning to an empty value (optional parameters
// are plain values in gen, "" meaning not set).
func appendQuery(q []byte, name, value string) []byte {
	if value == "" {
		return q
	}
	if len(q) > 0 {
		q = append(q, '&')
	}
	q = append(q, name...)
	q = append(q, '=')
	return append(q, url.QueryEscape(value)...)
}

// appendQueryNumber appends the query parameter name=v to q, as gen writes a number.
func appendQueryNumber(q []byte, name string, v float64) []byte {
	if len(q) > 0 {
		q = append(q, '&')
	}
	q = append(q, name...)
	q = append(q, '=')
	if math.IsInf(v, 1) {
		return append(q, "%2BInf"...) // +Inf, its + escaped
	}
	return strconv.AppendFloat(q, v, 'f', -1, 64) // digits, '-' and '.', or NaN, -Inf
}
