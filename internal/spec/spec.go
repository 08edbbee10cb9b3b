// Package spec gives the SDK and its fake server one view of the embedded Billing API
// spec: the operations with their routes, scopes and idempotency, matched by a
// precompiled router, and request/response validation with errors that name the field.
package spec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/prestashopcorp/billing-sdk-go/internal/specdoc"
)

// Operation is one operation of the spec, ready to match and validate requests.
type Operation struct {
	ID         string   // operationId, e.g. "setSubscriptionItemUsage"
	Method     string   // HTTP method
	Path       string   // path template, e.g. "/v1/invoices/{invoiceId}/download"
	Idempotent bool     // the operation's x-idempotent
	Scopes     []string // scopes the operation requires (none: any valid token)
	Statuses   []int    // response statuses the spec declares, ascending

	route    *routers.Route
	segments []string // template segments; "{name}" is a parameter
}

// Router finds the operation of a request. It is safe for concurrent use.
type Router struct {
	Doc *openapi3.T
	Ops []*Operation
}

var load = sync.OnceValues(func() (*Router, error) {
	doc, err := specdoc.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("spec: loading embedded spec: %w", err)
	}
	// The router matches paths itself: the spec's servers must not restrict hosts.
	doc.Servers = nil
	r := &Router{Doc: doc}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := &Operation{
				ID:       op.OperationID,
				Method:   method,
				Path:     path,
				segments: strings.Split(strings.Trim(path, "/"), "/"),
				route:    &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op},
			}
			idem, ok := op.Extensions["x-idempotent"].(bool)
			if !ok {
				return nil, fmt.Errorf("spec: operation %s has no boolean x-idempotent", op.OperationID)
			}
			o.Idempotent = idem
			if op.Security != nil {
				for _, req := range *op.Security {
					for _, scopes := range req {
						o.Scopes = append(o.Scopes, scopes...)
					}
				}
			}
			o.Scopes = dedupe(o.Scopes)
			for code := range op.Responses.Map() {
				if n, err := strconv.Atoi(code); err == nil {
					o.Statuses = append(o.Statuses, n)
				}
			}
			sort.Ints(o.Statuses)
			r.Ops = append(r.Ops, o)
		}
	}
	sort.Slice(r.Ops, func(i, j int) bool { return r.Ops[i].ID < r.Ops[j].ID })
	return r, nil
})

// Load returns the router over the embedded spec, built once per process.
func Load() (*Router, error) { return load() }

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// Declares reports whether the spec declares the response status for the operation.
func (o *Operation) Declares(status int) bool {
	return slices.Contains(o.Statuses, status)
}

// Op returns the operation with the given operationId, or nil.
func (r *Router) Op(id string) *Operation {
	for _, o := range r.Ops {
		if o.ID == id {
			return o
		}
	}
	return nil
}

// Find returns the operation that method and the escaped URL path address, and the
// unescaped path parameters. The path may carry a prefix before the spec's path (a
// base URL with a path). A parameter segment may be empty, so that validation, not
// routing, reports an empty id.
func (r *Router) Find(method, escapedPath string) (*Operation, map[string]string, bool) {
	segs := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	for _, o := range r.Ops {
		if o.Method != method || len(o.segments) > len(segs) {
			continue
		}
		tail := segs[len(segs)-len(o.segments):]
		params, ok := o.match(tail)
		if ok {
			return o, params, true
		}
	}
	return nil, nil, false
}

func (o *Operation) match(segs []string) (map[string]string, bool) {
	var params map[string]string
	for i, t := range o.segments {
		if strings.HasPrefix(t, "{") {
			v, err := url.PathUnescape(segs[i])
			if err != nil {
				return nil, false
			}
			if params == nil {
				params = make(map[string]string, 2)
			}
			params[t[1:len(t)-1]] = v
			continue
		}
		if t != segs[i] {
			return nil, false
		}
	}
	return params, true
}

// FieldError is a request or response that breaks the spec; Field names what is wrong.
type FieldError struct {
	Field  string // e.g. "usageQuantity", "query parameter limit", "body"
	Reason string // e.g. "number must be more than 0"
	Err    error  // the validator's error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }
func (e *FieldError) Unwrap() error { return e.Err }

var options = &openapi3filter.Options{
	AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
	SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
	SkipSettingDefaults:     true,
}

// ValidateRequest checks req (its parameters and body) against the operation. The
// body is read and put back. Authentication is not checked here.
func (o *Operation) ValidateRequest(ctx context.Context, req *http.Request, pathParams map[string]string) error {
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: o.route, Options: options}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return fieldError(err)
	}
	return nil
}

// ValidateResponse checks a response to req against the operation.
func (o *Operation) ValidateResponse(ctx context.Context, req *http.Request, pathParams map[string]string, status int, header http.Header, body []byte) error {
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: o.route, Options: options},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, SchemaValidationOptions: options.SchemaValidationOptions},
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return fieldError(err)
	}
	return nil
}

// fieldError turns a kin-openapi validation error into a FieldError naming the field.
func fieldError(err error) error {
	fe := &FieldError{Field: "request", Reason: err.Error(), Err: err}
	var reqErr *openapi3filter.RequestError
	var respErr *openapi3filter.ResponseError
	switch {
	case errors.As(err, &reqErr) && reqErr.Parameter != nil:
		fe.Field = reqErr.Parameter.In + " parameter " + reqErr.Parameter.Name
		fe.Reason = reason(reqErr.Reason, reqErr.Err)
	case errors.As(err, &reqErr) && reqErr.RequestBody != nil:
		fe.Field = "body"
		fe.Reason = reason(reqErr.Reason, reqErr.Err)
	case errors.As(err, &respErr):
		fe.Field = "response body"
		fe.Reason = reason(respErr.Reason, respErr.Err)
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		fe.Reason = se.Reason
		if p := se.JSONPointer(); len(p) > 0 && fe.Field != "request" && !strings.HasSuffix(fe.Field, "parameter "+p[0]) {
			if strings.HasPrefix(fe.Field, "response") {
				fe.Field = "response field " + strings.Join(p, ".")
			} else if fe.Field == "body" {
				fe.Field = strings.Join(p, ".")
			}
		}
	}
	return fe
}

func reason(r string, err error) string {
	var se *openapi3.SchemaError
	switch {
	case errors.As(err, &se):
		return se.Reason
	case err != nil && r != "" && r != err.Error():
		return r + ": " + err.Error()
	case err != nil:
		return err.Error()
	}
	return r
}
