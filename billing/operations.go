package billing

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config ../openapi/oapi-codegen-billing.yaml ../openapi/billing.yaml

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/prestashopcorp/billing-sdk-go/internal/components"
	"github.com/prestashopcorp/billing-sdk-go/internal/ops"
	"github.com/prestashopcorp/billing-sdk-go/internal/sendtrace"
)

// invoke runs a call of op for Client's methods (operations.gen.go): it checks the
// path values and inputs, builds the request, runs the editors, sends it and decodes
// the answer into a D: the R, or one whose answer method gives it (or its lack).
func invoke[D, R any](ctx context.Context, c *Client, op *ops.Operation, opts []RequestEditorFn, check func() *ops.FieldError, build func(context.Context) (*http.Request, error), paths ...string) (*R, error) {
	fe := ops.CheckPathValues(paths...)
	if fe == nil && c.doer.validate {
		fe = check()
	}
	if fe != nil {
		return nil, invalid(op, fe)
	}
	if ctx == nil {
		return nil, &InvalidRequestError{Operation: op.ID, Field: "ctx", Reason: "nil context"}
	}
	rctx, sent := ctx, (*sendtrace.Trace)(nil)
	if !op.Idempotent { // an idempotent call needs no trace: it is retried, never an unknown outcome
		rctx, sent = sendtrace.New(ctx)
	}
	req, err := build(rctx)
	if err != nil {
		return nil, &InvalidRequestError{Operation: op.ID, Field: "request", Reason: err.Error(), Err: err}
	}
	setHeaders(req.Header, c.sandbox)
	built, rewind, method, path := req.Body, req.GetBody, req.Method, req.URL.Path
	for _, edits := range [2][]RequestEditorFn{c.editors, opts} {
		for _, edit := range edits {
			if err := edit(ctx, req); err != nil {
				if req.Body != nil {
					_ = req.Body.Close() // as net/http's Do does
				}
				return nil, fmt.Errorf("billing: %s: request editor: %w", op.ID, err)
			}
		}
	}
	if req.Body != built { // an editor replaced it (no panic: built holds a *bytes.Reader)
		rewind = nil
	}
	if req.Method != method || req.URL.Path != path { // the retry policy is op's: it must stay op's request
		return nil, &InvalidRequestError{Operation: op.ID, Field: "URL", Reason: fmt.Sprintf("a request editor changed %s %s to %s %s", method, path, req.Method, req.URL.Path)}
	}
	status, body, tok, err := c.doer.do(ctx, op, req, sent, rewind)
	if err != nil {
		return nil, err
	}
	var out D
	if err := json.Unmarshal(body, &out); err != nil && !components.DecodedAgain(&out, body) {
		return nil, unknownIf(op, true, fmt.Errorf("billing: %s: %w: %d answer does not decode: %w; the call was carried out", op.ID, ErrUnexpectedResponse, status, err))
	}
	a, ok := any(&out).(interface{ answer() (*R, string) })
	if !ok {
		return any(&out).(*R), nil
	}
	r, missing := a.answer()
	if missing != "" {
		return nil, unknownIf(op, true, fmt.Errorf("billing: %s: %w: %d answer has no %s, which the spec requires; body %q", op.ID, ErrUnexpectedResponse, status, missing, c.doer.excerpt(body, tok)))
	}
	return r, nil
}

// invalid is the error of a request that a check refused: nothing was sent.
func invalid(op *ops.Operation, fe *ops.FieldError) error {
	return &InvalidRequestError{Operation: op.ID, Field: fe.Field, Reason: fe.Reason}
}
