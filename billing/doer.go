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

// doer is the HTTP doer under the operations. For each call it finds the operation
// in the spec, checks the request against it, adds the bearer token, sends it with
// the retry policy, replays it once with a fresh token after a 401, reads a 2xx
// answer whole (bounded) and turns every other answer into an *APIError.
//
// The promise that a non-idempotent call is never sent twice holds in every layer
// under it:
//   - the request it hands to net/http has no GetBody, so neither the HTTP/2
//     transport (after a stream reset or a GOAWAY) nor the HTTP/1 transport (after a
//     kept-alive connection closed, Idempotency-Key or not) can re-send a body it
//     already wrote;
//   - its *http.Client never follows a redirect (hc is a copy of the caller's client
//     with CheckRedirect returning http.ErrUseLastResponse);
//   - a failure after the status line (a body cut short, too large, not JSON, not
//     decodable, the context ending while it is read) happens here or in decode,
//     where it is reported as an unknown outcome, never as a bare error.
type doer struct {
	hc       *http.Client // never follows redirects
	router   *spec.Router
	validate bool
	tokens   *tokenCache
	policy   RetryPolicy
	maxBody  int64
	sleep    func(context.Context, time.Duration) error
}

// noRedirects returns a copy of hc (http.DefaultClient if nil) that returns a 3xx
// answer as it is instead of following it. The caller's client is left unchanged.
func noRedirects(hc *http.Client) *http.Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// Do sends req as the operation it addresses. A nil error means a 2xx answer the
// spec declares, with a JSON body read whole into memory.
func (d *doer) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	op, params, ok := d.router.Find(req.Method, req.URL.EscapedPath())
	if !ok {
		return nil, fmt.Errorf("billing: %s %s is not an operation of the Billing API", req.Method, req.URL.Path)
	}
	if err := checkHeaders(op.ID, req.Header); err != nil {
		return nil, err
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
			// Nothing was sent: the token is needed first.
			return nil, fmt.Errorf("billing: %s: %w", op.ID, err)
		}
		r := req.Clone(ctx)
		r.GetBody = nil
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			if op.Idempotent {
				// The transport may re-send an idempotent request on its own.
				r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			}
		}
		tok.SetAuthHeader(r)
		var sent sendTrace
		r = r.WithContext(httptrace.WithClientTrace(ctx, sent.trace()))

		resp, err := d.hc.Do(r)
		var lastErr error
		switch {
		case err != nil:
			nothingSent := sent.nothingSent(err)
			lastErr = fmt.Errorf("billing: %s: %w", op.ID, err)
			if ctx.Err() != nil {
				// The caller's context ended: stop, whatever the operation.
				return nil, d.unknownIf(op, !nothingSent, lastErr)
			}
			if !op.Idempotent && !nothingSent {
				return nil, d.unknownIf(op, true, lastErr)
			}
		case resp.StatusCode < 300:
			resp, retry, err := d.success(ctx, op, resp)
			if !retry {
				return resp, err
			}
			lastErr = err
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
			case resp.StatusCode >= 500, resp.StatusCode < 400:
				// A 5xx, or a redirect (never followed), may follow an application.
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
			return nil, fmt.Errorf("%w (not retried: %w while waiting to retry)", lastErr, err)
		}
	}
}

// success reads a 2xx answer whole, at most maxBody bytes, and checks that the
// spec declares its status and that it is JSON. It returns the answer with its
// body in memory, or an error. retry is true when an idempotent call lost its
// answer to the network and may be sent again.
//
// The call was carried out, so every error wraps ErrUnexpectedResponse, and
// ErrOutcomeUnknown for a non-idempotent call.
func (d *doer) success(ctx context.Context, op *spec.Operation, resp *http.Response) (_ *http.Response, retry bool, _ error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, d.maxBody+1))
	_ = resp.Body.Close()
	var why error
	switch {
	case err != nil:
		why = fmt.Errorf("%d answer cut short: %w", resp.StatusCode, err)
		if op.Idempotent && ctx.Err() == nil {
			return nil, true, fmt.Errorf("billing: %s: %w: %w", op.ID, ErrUnexpectedResponse, why)
		}
	case int64(len(body)) > d.maxBody:
		why = fmt.Errorf("%d answer larger than %d bytes (WithMaxResponseBytes), not read", resp.StatusCode, d.maxBody)
	case !op.Declares(resp.StatusCode):
		why = fmt.Errorf("%d answer, the spec declares %v; body %q", resp.StatusCode, op.Statuses, excerpt(body, 200))
	case !isJSON(resp.Header.Get("Content-Type")):
		why = fmt.Errorf("%d answer with Content-Type %q, want JSON; body %q", resp.StatusCode, resp.Header.Get("Content-Type"), excerpt(body, 200))
	default:
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		return resp, false, nil
	}
	return nil, false, d.unknownIf(op, true, fmt.Errorf("billing: %s: %w: %w; the call was carried out", op.ID, ErrUnexpectedResponse, why))
}

func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// unknownIf wraps err with ErrOutcomeUnknown when the operation is not idempotent
// and the server may have acted on the request.
func (d *doer) unknownIf(op *spec.Operation, mayHaveActed bool, err error) error {
	if op.Idempotent || !mayHaveActed {
		return err
	}
	return &unknownError{op: op.ID, cause: err}
}

// sendTrace records how far a request got, to tell whether the server can have
// acted on it when the round trip fails.
type sendTrace struct {
	getConn atomic.Bool // the transport asked for a connection
	gotConn atomic.Bool // a connection was obtained (dialled, TLS done, or reused)
	wrote   atomic.Bool // the whole request was written
}

func (s *sendTrace) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn: func(string) { s.getConn.Store(true) },
		GotConn: func(httptrace.GotConnInfo) { s.gotConn.Store(true) },
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				s.wrote.Store(true)
			}
		},
	}
}

// nothingSent reports whether a round trip that failed with err never delivered a
// complete request, so the server cannot have acted on it: no connection was
// obtained (DNS, dial, TLS handshake or certificate failures), or one was but the
// request was not completely written. A transport that reports no trace events at
// all (a caller's own RoundTripper) is assumed to have sent the request, unless the
// error is a DNS or dial error.
func (s *sendTrace) nothingSent(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	if s.getConn.Load() && !s.gotConn.Load() {
		return true
	}
	return s.gotConn.Load() && !s.wrote.Load()
}

// checkHeaders refuses, before anything is sent, a header that net/http would
// refuse to send (a name that is not a token, a value with a control character),
// so that such a failure is reported as an invalid request, not as a network error.
func checkHeaders(op string, h http.Header) error {
	for name, values := range h {
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return r > 0x7e || !isTokenChar(byte(r)) }) >= 0 {
			return &InvalidRequestError{Operation: op, Field: fmt.Sprintf("header %q", name), Reason: "not a valid header name"}
		}
		for _, v := range values {
			for i := 0; i < len(v); i++ {
				if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
					return &InvalidRequestError{Operation: op, Field: "header " + name, Reason: "value holds a control character"}
				}
			}
		}
	}
	return nil
}

func isTokenChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
