package billing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/internal/body"
	"github.com/prestashopcorp/billing-sdk-go/internal/endpoint"
	"github.com/prestashopcorp/billing-sdk-go/internal/header"
	"github.com/prestashopcorp/billing-sdk-go/internal/ops"
	"github.com/prestashopcorp/billing-sdk-go/internal/scrub"
	"github.com/prestashopcorp/billing-sdk-go/internal/sendtrace"
	"github.com/prestashopcorp/billing-sdk-go/internal/token"
)

// doer sends the operations' requests with the token, by the retry policy. No layer
// under it sends a non-idempotent call twice: its request has no GetBody (no transport
// replay), hc follows no redirect, a failure after the status line is an unknown outcome.
type doer struct {
	hc       *http.Client // never follows redirects
	validate bool
	tokens   *token.Cache
	policy   RetryPolicy
	maxBody  int64
	sleep    func(context.Context, time.Duration) error
	origin   string   // scheme://host of the base URL: where the token may be sent
	obs      Observer // nil unless WithLogger or WithObserver
	creds    []string // the credentials' forms no error may show
}

// secrets returns what no error may show: the credentials and tok (nil: the last sent).
func (d *doer) secrets(tok *oauth2.Token) []string {
	if tok = cmp.Or(tok, d.tokens.LastSent()); tok == nil {
		return d.creds
	}
	return append(d.creds[:len(d.creds):len(d.creds)], tok.AccessToken)
}

// attempts sends req (edited, its context carrying sent) and returns a declared 2xx
// answer's status, body and token (to redact); rewind makes the body again, or is nil.
func (d *doer) attempts(ctx context.Context, op *ops.Operation, req *http.Request, sent *sendtrace.Trace, rewind func() (io.ReadCloser, error), ob *callObs) (status int, _ []byte, _ *oauth2.Token, _ error) {
	sends := 0
	defer func() {
		if sends == 0 && req.Body != nil {
			_ = req.Body.Close() // as net/http's Do does, even when refusing it
		}
	}()
	if !endpoint.Within(d.origin, req.URL) { // moved by an editor: the token must not follow
		return 0, nil, nil, &InvalidRequestError{Operation: op.ID, Field: "URL",
			Reason: fmt.Sprintf("a request editor moved the request to %s://%s; the client sends its token only to %s", req.URL.Scheme, req.URL.Host, d.origin)}
	}
	if field, reason := header.Check(req.Header); field != "" {
		return 0, nil, nil, &InvalidRequestError{Operation: op.ID, Field: field, Reason: reason}
	}
	if d.validate {
		if fe := op.CheckRequest(req.Header, req.URL.RawQuery); fe != nil {
			return 0, nil, nil, invalid(op, fe)
		}
	}
	if rewind == nil {
		var err error
		if rewind, err = body.Buffer(req); err != nil {
			return 0, nil, nil, fmt.Errorf("billing: %s: reading request body: %w", op.ID, err)
		}
	}

	refreshed, mayHaveApplied := false, false
	for attempt := 1; ; attempt++ {
		tok, err := d.tokens.Token(ctx)
		if err != nil { // nothing was sent
			return 0, nil, nil, fmt.Errorf("billing: %s: %w", op.ID, err)
		}
		r := req
		if sends > 0 {
			// An earlier attempt's transport may still read req: send a copy.
			rctx := ctx
			if sent != nil {
				rctx, sent = sendtrace.New(ctx)
			}
			r = req.Clone(rctx)
			if rewind != nil {
				if r.Body, err = rewind(); err != nil {
					return 0, nil, nil, fmt.Errorf("billing: %s: making the request body again: %w", op.ID, err)
				}
			}
		}
		sends++
		auth := d.tokens.Header(tok)
		if !header.ValidValue(auth) { // net/http would refuse it, sending nothing
			return 0, nil, nil, fmt.Errorf("billing: %s: getting an access token: the access token holds a character a header cannot carry", op.ID)
		}
		r.Header["Authorization"] = []string{auth}
		r.GetBody = nil
		if op.Idempotent { // the transport may re-send it on its own
			r.GetBody = rewind
		} else if _, own := d.hc.Transport.(*http.Transport); sent != nil && r.Body != nil && !own && d.hc.Transport != nil {
			r.Body = sent.WrapBody(r.Body) // a caller's transport may re-send: see the body read first
		}
		r = ob.attempt(r, sends, sent) // observe
		resp, err := d.hc.Do(r)
		shown := err // what errors show: net/http quotes malformed answers, which may echo the token
		if err != nil {
			shown = transportError{scrub.Error(err, d.secrets(tok))}
		}
		ob.answered(resp, shown) // observe
		if sent.Resent() {       // a transport under net/http sent it again on its own
			if err == nil {
				_ = resp.Body.Close()
			}
			return 0, nil, nil, unknownIf(op, true, fmt.Errorf("billing: %s: the HTTP client's transport (%T) sent the request again in one attempt: it re-sends requests on its own (see WithHTTPClient), so the call may have been applied more than once", op.ID, d.hc.Transport))
		}
		var lastErr error
		var apiErr *APIError
		switch {
		case err != nil:
			nothingSent := sent.NothingSent(err, ctx.Err() != nil || isTimeout(err))
			lastErr = fmt.Errorf("billing: %s: %w", op.ID, shown)
			if ctx.Err() != nil || !op.Idempotent && !nothingSent { // a context ended stops any call
				return 0, nil, nil, unknownIf(op, !nothingSent, lastErr)
			}
			mayHaveApplied = mayHaveApplied || !nothingSent
		case resp.StatusCode < 200:
			// A 1xx final answer (101): its body is the raw connection, never read.
			_ = resp.Body.Close()
			return 0, nil, nil, unknownIf(op, true, fmt.Errorf("billing: %s: %w: %d answer; the call may have been carried out", op.ID, ErrUnexpectedResponse, resp.StatusCode))
		case resp.StatusCode < 300:
			b, retry, err := d.success(ctx, op, resp, tok)
			if !retry {
				return resp.StatusCode, b, tok, err
			}
			lastErr, mayHaveApplied = err, true
		default:
			apiErr = newAPIError(op.ID, resp, d.secrets(tok))
			apiErr.Attempts, apiErr.EarlierAttemptMayHaveApplied = attempt, mayHaveApplied
			if resp.StatusCode == http.StatusUnauthorized {
				d.tokens.Invalidate(tok) // the next call fetches a fresh one
			}
			if resp.StatusCode == http.StatusUnauthorized && !refreshed && (op.Idempotent || header.BearerRefused(resp.Header) || tok.Expiry.Sub(d.tokens.Now()) < token.ExpiryMargin && !tok.Expiry.IsZero()) {
				// Replay once with a fresh token. A 401 means nothing was applied; a
				// non-idempotent call relies on it only if refused (RFC 6750) or about to expire.
				refreshed = true
				ob.event(EventTokenRefused, sends, 0, apiErr) // observe
				attempt--
				continue
			}
			switch {
			case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500 && op.Idempotent:
				// Retried below. A 429 means nothing was applied, whatever the operation.
				mayHaveApplied = mayHaveApplied || resp.StatusCode >= 500
			case resp.StatusCode >= 500, resp.StatusCode < 400:
				// A 5xx, or a redirect (never followed), may follow an application.
				return 0, nil, nil, unknownIf(op, true, apiErr)
			default:
				return 0, nil, nil, apiErr
			}
			lastErr = apiErr
		}

		if attempt >= d.policy.MaxAttempts {
			return 0, nil, nil, lastErr
		}
		wait := d.policy.backoff(attempt)
		if apiErr != nil && apiErr.RetryAfter > 0 {
			if apiErr.RetryAfter > d.policy.MaxRetryAfter {
				ob.event(EventRetryAfterTooLong, sends, apiErr.RetryAfter, lastErr)
				return 0, nil, nil, lastErr // longer than the policy waits: the caller decides
			}
			wait = apiErr.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return 0, nil, nil, fmt.Errorf("%w (not retried: the next attempt, in %s, is after the context deadline)", lastErr, wait.Round(time.Millisecond))
		}
		ob.event(EventRetry, sends, wait, lastErr) // observe
		if err := d.sleep(ctx, wait); err != nil {
			return 0, nil, nil, fmt.Errorf("%w (not retried: %w while waiting to retry)", lastErr, err)
		}
	}
}

// success reads a declared 2xx JSON answer (at most maxBody bytes); every error wraps
// ErrUnexpectedResponse. retry tells an idempotent call its answer was lost in transit.
func (d *doer) success(ctx context.Context, op *ops.Operation, resp *http.Response, tok *oauth2.Token) (_ []byte, retry bool, _ error) {
	b, err := body.Read(resp.Body, d.maxBody, resp.ContentLength)
	_ = resp.Body.Close()
	var why error
	switch {
	case err != nil:
		why = fmt.Errorf("%d answer cut short: %w", resp.StatusCode, scrub.Error(err, d.secrets(tok)))
		if op.Idempotent && ctx.Err() == nil {
			return nil, true, fmt.Errorf("billing: %s: %w: %w", op.ID, ErrUnexpectedResponse, why)
		}
	case int64(len(b)) > d.maxBody:
		why = fmt.Errorf("%d answer larger than %d bytes (WithMaxResponseBytes), not read", resp.StatusCode, d.maxBody)
	case !op.Declares(resp.StatusCode):
		why = fmt.Errorf("%d answer, the spec declares %v; body %q", resp.StatusCode, op.Statuses, d.excerpt(b, tok))
	case !header.IsJSON(resp.Header.Get("Content-Type")):
		why = fmt.Errorf("%d answer with Content-Type %q, want JSON; body %q", resp.StatusCode, scrub.OneLine(scrub.Secrets(resp.Header.Get("Content-Type"), d.secrets(tok))), d.excerpt(b, tok))
	default:
		return b, false, nil
	}
	return nil, false, unknownIf(op, true, fmt.Errorf("billing: %s: %w: %w; the call was carried out", op.ID, ErrUnexpectedResponse, why))
}

// excerpt returns the start of a body for an error, secrets redacted first.
func (d *doer) excerpt(body []byte, tok *oauth2.Token) string {
	return scrub.Excerpt([]byte(scrub.Secrets(string(body), d.secrets(tok))), 200)
}

// unknownIf wraps err with ErrOutcomeUnknown for a non-idempotent op the server may have applied.
func unknownIf(op *ops.Operation, mayHaveActed bool, err error) error {
	if op.Idempotent || !mayHaveActed {
		return err
	}
	return &unknownError{op: op.ID, cause: err}
}

// isTimeout reports whether err is a timeout of the HTTP client (Client.Timeout).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// transportError is net/http's error without the advice of its HTTP/2 side ("define
// Request.GetBody"), the one thing a non-idempotent call must not do.
type transportError struct{ err error }

func (e transportError) Error() string {
	return strings.Replace(e.err.Error(), "; define Request.GetBody to avoid this error", "", 1)
}

func (e transportError) Unwrap() error { return e.err }
