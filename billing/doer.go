package billing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/internal/spec"
)

// doer is the HTTP doer under the generated client. For each call it finds the
// operation in the spec, checks the request against it, adds the bearer token, sends
// it with the retry policy, replays it once with a fresh token after a 401, and turns
// every non-2xx answer into an *APIError.
type doer struct {
	hc       *http.Client
	router   *spec.Router
	validate bool
	tokens   *tokenCache
	policy   RetryPolicy
	sleep    func(context.Context, time.Duration) error
}

func (d *doer) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	op, params, ok := d.router.Find(req.Method, req.URL.EscapedPath())
	if !ok {
		return nil, fmt.Errorf("billing: %s %s is not an operation of the Billing API", req.Method, req.URL.Path)
	}
	if d.validate {
		if err := op.ValidateRequest(ctx, req, params); err != nil {
			ie := &InvalidRequestError{Operation: op.ID, Field: "request", Reason: err.Error(), Err: err}
			var fe *spec.FieldError
			if errors.As(err, &fe) {
				ie.Field, ie.Reason = fe.Field, fe.Reason
			}
			return nil, ie
		}
	}
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("billing: %s: reading request body: %w", op.ID, err)
		}
	}

	refreshed := false
	for attempt := 1; ; attempt++ {
		tok, err := d.tokens.token(ctx)
		if err != nil {
			return nil, fmt.Errorf("billing: %s: %w", op.ID, err)
		}
		r := req.Clone(ctx)
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		}
		tok.SetAuthHeader(r)
		var sent sendTrace
		r = r.WithContext(httptrace.WithClientTrace(ctx, sent.trace()))

		resp, err := d.hc.Do(r)
		var lastErr error
		switch {
		case err != nil && ctx.Err() != nil:
			// The caller's context ended: stop, whatever the operation.
			return nil, d.unknownIf(op, !sent.cannotHaveActed(err), fmt.Errorf("billing: %s: %w", op.ID, err))
		case err != nil:
			lastErr = fmt.Errorf("billing: %s: %w", op.ID, err)
			if !op.Idempotent && !sent.cannotHaveActed(err) {
				return nil, d.unknownIf(op, true, lastErr)
			}
		case resp.StatusCode < 300:
			if err := checkSuccess(op, resp); err != nil {
				return nil, err
			}
			return resp, nil
		default:
			apiErr := newAPIError(op.ID, resp)
			if resp.StatusCode == http.StatusUnauthorized && !refreshed {
				// The token was refused: drop it and replay once with a fresh one.
				// A 401 means nothing was applied, so this is safe for every operation.
				refreshed = true
				d.tokens.invalidate(tok)
				attempt--
				continue
			}
			switch {
			case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500 && op.Idempotent:
				// Retried below. A 429 means nothing was applied, whatever the operation.
			case resp.StatusCode >= 500:
				return nil, d.unknownIf(op, true, apiErr)
			default:
				return nil, apiErr
			}
			lastErr = apiErr
		}

		if attempt >= d.policy.MaxAttempts {
			return nil, lastErr
		}
		wait := d.policy.backoff(attempt)
		var apiErr *APIError
		if errors.As(lastErr, &apiErr) && apiErr.RetryAfter > 0 {
			if apiErr.RetryAfter > d.policy.MaxRetryAfter {
				return nil, lastErr // longer than the policy waits: the caller decides
			}
			wait = apiErr.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, fmt.Errorf("%w (not retried: the next attempt, in %s, is after the context deadline)", lastErr, wait.Round(time.Millisecond))
		}
		if err := d.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("billing: %s: %w while waiting to retry after: %w", op.ID, err, lastErr)
		}
	}
}

// unknownIf wraps err with ErrOutcomeUnknown when the operation is not idempotent
// and the server may have acted on the request.
func (d *doer) unknownIf(op *spec.Operation, mayHaveActed bool, err error) error {
	if op.Idempotent || !mayHaveActed {
		return err
	}
	return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
}

// sendTrace records how far a request got, to tell whether the server can have
// acted on it when the round trip fails.
type sendTrace struct {
	gotConn atomic.Bool // a connection was obtained
	wrote   atomic.Bool // the whole request was written
}

func (s *sendTrace) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { s.gotConn.Store(true) },
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				s.wrote.Store(true)
			}
		},
	}
}

// cannotHaveActed reports whether a round trip that failed with err never delivered
// a complete request: the dial failed, or a connection was obtained but the request
// was not completely written. A transport that reports no trace events is assumed
// to have sent the request, unless the error is a dial error.
func (s *sendTrace) cannotHaveActed(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	return s.gotConn.Load() && !s.wrote.Load()
}

// checkSuccess refuses a 2xx answer the generated client cannot decode: a status
// the spec does not declare for the operation, or a body that is not JSON. The
// call was carried out; only its answer is lost.
func checkSuccess(op *spec.Operation, resp *http.Response) error {
	ct := resp.Header.Get("Content-Type")
	declared := op.Declares(resp.StatusCode)
	if declared && strings.Contains(ct, "json") {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	why := fmt.Sprintf("Content-Type %q, want JSON", ct)
	if !declared {
		why = fmt.Sprintf("the spec declares %v", op.Statuses)
	}
	return fmt.Errorf("billing: %s: %w: %d answer (%s), body %q; the call was carried out",
		op.ID, ErrUnexpectedResponse, resp.StatusCode, why, excerpt(body, 200))
}
