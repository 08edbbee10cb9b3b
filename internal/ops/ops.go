// Package ops holds what billing.Client needs to know of the Billing API spec at run
// time, with nothing parsed or compiled at run time: the operations (method, path,
// x-idempotent, scopes, declared statuses) and a builder of each operation's request,
// both written by oapi-codegen from openapi/billing.yaml with the user template
// openapi/templates/ops.tmpl (ops.gen.go), and the checks of each operation's typed
// inputs (checks.go), which refuse what the spec refuses, naming the field.
//
// The spec stays the single source: tests prove that the checks agree with
// openapi3filter on valid, invalid and fuzzed inputs of every operation (package
// billing), that the builders make the requests oapi-codegen's own client makes
// (internal/rawclient, here), and that the table is the spec's (internal/spec).
//
// Do not edit ops.gen.go by hand: run `make generate`.
package ops

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config ../../openapi/oapi-codegen-ops.yaml ../../openapi/billing.yaml

import (
	"bytes"
	"context"
	"encoding/json"
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
	ID         string   // operationId, e.g. "setSubscriptionItemUsage"
	Method     string   // HTTP method
	Path       string   // path template, e.g. "/v1/invoices/{invoiceId}/download"
	Idempotent bool     // the operation's x-idempotent
	Scopes     []string // scopes the operation requires (none: any valid token)
	Statuses   []int    // response statuses the spec declares, ascending
	// BodyTypes are the media types the request body may have; none when the
	// operation takes no body.
	BodyTypes []string
}

// Param is a parameter that the typed inputs do not carry: only a request editor
// sets it, so CheckRequest checks it on the request as it is sent.
type Param struct {
	In   string // "header" or "query"
	Name string // as the spec writes it; a header's is canonical
}

// EditorParams are the parameters every operation declares that the typed inputs do
// not carry: the sandbox header and query parameter, optional booleans with no empty
// value allowed (the overlay removes them from gen; internal/spec's tests check that
// the spec declares exactly these).
var EditorParams = []Param{{In: "header", Name: "Sandbox"}, {In: "query", Name: "sandbox"}}

// field names p in a FieldError, as the spec writes it ("header parameter sandbox").
func (p Param) field() string { return p.In + " parameter " + strings.ToLower(p.Name) }

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

// CheckRequest checks what request editors may have set on a request built from
// valid typed inputs: EditorParams and the body's Content-Type. It costs a header
// lookup per parameter, and parses the query only when it may hold one of them.
func (o *Operation) CheckRequest(h http.Header, rawQuery string) *FieldError {
	var query url.Values
	for _, p := range EditorParams {
		var values []string
		switch p.In {
		case "header":
			values = h[p.Name]
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
			return &FieldError{Field: p.field(), Reason: "empty value is not allowed"}
		}
		if _, err := strconv.ParseBool(v); err != nil {
			return &FieldError{Field: p.field(), Reason: "value " + v + ": an invalid boolean: invalid syntax"}
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
// the value to send as JSON (nil for none).
func newRequest(ctx context.Context, method, url string, body any) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(buf) // a type net/http knows: GetBody is set
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

// expand returns server followed by path, a path template whose parameters are
// written %s (its leading "/" dropped: server ends with one), with each %s replaced
// by the next of values, path-escaped.
func expand(server, path string, values ...string) string {
	var b strings.Builder
	b.Grow(len(server) + len(path) + 64)
	b.WriteString(server)
	path = path[1:]
	for _, v := range values {
		before, after, _ := strings.Cut(path, "%s")
		b.WriteString(before)
		b.WriteString(url.PathEscape(v))
		path = after
	}
	b.WriteString(path)
	return b.String()
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

// appendQueryNumber appends the query parameter name=v to q, as oapi-codegen's client
// writes a number.
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
