// Package spec gives the SDK's tests and its fake server the embedded Billing API spec
// at run time: a router that finds the operation (internal/ops's) of a request, and
// request/response validation by openapi3filter with errors that name the field.
package spec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/prestashopcorp/billing-sdk-go/internal/ops"
	"github.com/prestashopcorp/billing-sdk-go/internal/specdoc"
)

// Router finds the operation of a request and validates requests and answers with
// openapi3filter. Its operations are internal/ops's, the one model of an operation
// (generated from the same spec; a test checks that they are the spec's). It is
// safe for concurrent use.
type Router struct {
	Doc    *openapi3.T
	Ops    []*ops.Operation
	routes map[*ops.Operation]*routers.Route
	segs   map[*ops.Operation][]string // template segments; "{name}" is a parameter
}

var load = sync.OnceValues(func() (*Router, error) {
	doc, err := specdoc.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("spec: loading embedded spec: %w", err)
	}
	// The router matches paths itself: the spec's servers must not restrict hosts.
	doc.Servers = nil
	r := &Router{Doc: doc, Ops: ops.Operations, routes: map[*ops.Operation]*routers.Route{}, segs: map[*ops.Operation][]string{}}
	for _, o := range ops.Operations {
		item := doc.Paths.Value(o.Path)
		if item == nil || item.GetOperation(o.Method) == nil {
			return nil, fmt.Errorf("spec: operation %s (%s %s) is not in the embedded spec: run make generate", o.ID, o.Method, o.Path)
		}
		r.routes[o] = &routers.Route{Spec: doc, Path: o.Path, PathItem: item, Method: o.Method, Operation: item.GetOperation(o.Method)}
		r.segs[o] = strings.Split(strings.Trim(o.Path, "/"), "/")
	}
	return r, nil
})

// Load returns the router over the embedded spec, built once per process.
func Load() (*Router, error) { return load() }

// Op returns the operation with the given operationId, or nil.
func (r *Router) Op(id string) *ops.Operation {
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
func (r *Router) Find(method, escapedPath string) (*ops.Operation, map[string]string, bool) {
	segs := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	for _, o := range r.Ops {
		tmpl := r.segs[o]
		if o.Method != method || len(tmpl) > len(segs) {
			continue
		}
		if params, ok := match(tmpl, segs[len(segs)-len(tmpl):]); ok {
			return o, params, true
		}
	}
	return nil, nil, false
}

func match(tmpl, segs []string) (map[string]string, bool) {
	var params map[string]string
	for i, t := range tmpl {
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

// ValidateRequest checks req (its parameters and body) against op. The
// body is read and put back. Authentication is not checked here.
func (r *Router) ValidateRequest(ctx context.Context, op *ops.Operation, req *http.Request, pathParams map[string]string) error {
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: r.routes[op], Options: options}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return fieldError(err)
	}
	return nil
}

// ValidateResponse checks a response to req against op.
func (r *Router) ValidateResponse(ctx context.Context, op *ops.Operation, req *http.Request, pathParams map[string]string, status int, header http.Header, body []byte) error {
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: r.routes[op], Options: options},
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
