package billing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/internal/ops"
)

// doer is the HTTP doer under the operations. For each call it checks what request
// editors may have set (headers, the declared parameters the typed inputs do not
// carry), adds the bearer token, sends the request with the retry policy, replays it
// once with a fresh token after a 401, reads a 2xx answer whole (bounded) and turns
// every other answer into an *APIError.
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
//     decodable, the context ending while it is read) happens here or in send, where
//     it is reported as an unknown outcome, never as a bare error.
type doer struct {
	hc       *http.Client // never follows redirects
	validate bool
	tokens   *tokenCache
	policy   RetryPolicy
	maxBody  int64
	sleep    func(context.Context, time.Duration) error
	origin   string                     // scheme://host of the base URL: where the token may be sent
	obs      Observer                   // observe: nil unless WithLogger or WithObserver
	auth     atomic.Pointer[authHeader] // the Authorization value of the last token
	creds    []string                   // the credentials' forms no error may show (credentialForms)
}

// secrets returns what no error may show: the client's credentials and tok (nil:
// the last token sent).
func (d *doer) secrets(tok *oauth2.Token) []string {
	if a := d.auth.Load(); tok == nil && a != nil {
		tok = a.tok
	}
	if tok == nil {
		return d.creds
	}
	return append(d.creds[:len(d.creds):len(d.creds)], tok.AccessToken)
}

// authHeader is the Authorization header value of a token.
type authHeader struct {
	tok   *oauth2.Token
	value string
}

// authorization returns the Authorization header value of tok, as
// tok.SetAuthHeader writes it, computed once per token.
func (d *doer) authorization(tok *oauth2.Token) string {
	if a := d.auth.Load(); a != nil && a.tok == tok {
		return a.value
	}
	a := &authHeader{tok: tok, value: tok.Type() + " " + tok.AccessToken}
	d.auth.Store(a)
	return a.value
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

// attempts sends req, built for op with the editors applied, and returns the status and
// the body of its answer: a nil error means a 2xx answer the spec declares, JSON,
// read whole.
//
// req is the doer's from then on: the first attempt sends it as it is, with its
// context, which carries sent, the trace of its sending (see traceContext). rewind
// makes its body again for a later attempt (it is the GetBody of the built request,
// nil when an editor replaced the body: the doer then reads it into memory first).
// ob observes the call (nil: not observed; see observe.go).
func (d *doer) attempts(ctx context.Context, op *ops.Operation, req *http.Request, sent *sendTrace, rewind func() (io.ReadCloser, error), ob *callObs) (status int, _ []byte, _ error) {
	sends := 0
	defer func() {
		if sends == 0 && req.Body != nil {
			_ = req.Body.Close() // as net/http's Do does, even when refusing it
		}
	}()
	if o := req.URL.Scheme + "://" + req.URL.Host; o != d.origin {
		// An editor moved the request: the token must not follow it elsewhere.
		return 0, nil, &InvalidRequestError{Operation: op.ID, Field: "URL",
			Reason: fmt.Sprintf("a request editor moved the request to %s; the client sends its token only to %s", o, d.origin)}
	}
	if err := checkHeaders(op.ID, req.Header); err != nil {
		return 0, nil, err
	}
	if d.validate {
		if fe := op.CheckRequest(req.Header, req.URL.RawQuery); fe != nil {
			return 0, nil, invalid(op, fe)
		}
	}
	switch {
	case rewind != nil:
	case req.Body == nil || req.Body == http.NoBody:
		req.ContentLength = 0
	default:
		body, err := readBounded(req.Body, math.MaxInt64, req.ContentLength)
		_ = req.Body.Close()
		req.Body = nil
		if err != nil {
			return 0, nil, fmt.Errorf("billing: %s: reading request body: %w", op.ID, err)
		}
		req.Body, req.ContentLength = newBodyReader(body), int64(len(body))
		rewind = func() (io.ReadCloser, error) { return newBodyReader(body), nil }
	}

	refreshed, mayHaveApplied := false, false
	for attempt := 1; ; attempt++ {
		tok, err := d.tokens.token(ctx)
		if err != nil {
			// Nothing was sent: the token is needed first.
			return 0, nil, fmt.Errorf("billing: %s: %w", op.ID, err)
		}
		r := req
		if sends > 0 {
			// An earlier attempt's transport may still read req: send a copy, with
			// a trace of its own, and its body made again.
			rctx := ctx
			if sent != nil {
				sent = newSendTrace()
				rctx = httptrace.WithClientTrace(ctx, &sent.ct)
			}
			r = req.Clone(rctx)
			if rewind != nil {
				if r.Body, err = rewind(); err != nil {
					return 0, nil, fmt.Errorf("billing: %s: making the request body again: %w", op.ID, err)
				}
			}
		}
		sends++
		auth := d.authorization(tok)
		if !validHeaderValue(auth) {
			// net/http would refuse it before writing anything.
			return 0, nil, fmt.Errorf("billing: %s: getting an access token: the access token holds a character a header cannot carry", op.ID)
		}
		r.Header["Authorization"] = []string{auth}
		r.GetBody = nil
		if op.Idempotent {
			// The transport may re-send an idempotent request on its own.
			r.GetBody = rewind
		} else if _, own := d.hc.Transport.(*http.Transport); sent != nil && r.Body != nil && !own && d.hc.Transport != nil {
			// A transport of the caller's may re-send: see the body read first.
			sent.body, r.Body = r.Body, sent
		}

		r = ob.attempt(r, sends, sent) // observe
		resp, err := d.hc.Do(r)
		ob.answered(resp, err) // observe
		if sent.resent() {
			// A transport under net/http sent it again on its own.
			if err == nil {
				_ = resp.Body.Close()
			}
			return 0, nil, unknownIf(op, true, fmt.Errorf("billing: %s: the HTTP client's transport (%T) sent the request again in one attempt: it re-sends requests on its own (see WithHTTPClient), so the call may have been applied more than once", op.ID, d.hc.Transport))
		}
		var lastErr error
		var apiErr *APIError
		switch {
		case err != nil:
			nothingSent := sent.nothingSent(err)
			if ctx.Err() != nil || isTimeout(err) {
				// The round trip was cut short by the context or the client's
				// Timeout: net/http then returns without waiting for the goroutine
				// that writes the request (HTTP/2 notably), so the trace may not tell
				// yet that it was written. Only a request that never got a
				// connection is known not to have been sent.
				nothingSent = sent.neverConnected(err)
			}
			lastErr = fmt.Errorf("billing: %s: %w", op.ID, transportError{err})
			if ctx.Err() != nil {
				// The caller's context ended: stop, whatever the operation.
				return 0, nil, unknownIf(op, !nothingSent, lastErr)
			}
			if !op.Idempotent && !nothingSent {
				return 0, nil, unknownIf(op, true, lastErr)
			}
			mayHaveApplied = mayHaveApplied || !nothingSent
		case resp.StatusCode < 200:
			// A 1xx final answer (101 Switching Protocols): its body is the raw
			// connection, never read. The Billing API switches no protocol.
			_ = resp.Body.Close()
			return 0, nil, unknownIf(op, true, fmt.Errorf("billing: %s: %w: %d answer; the call may have been carried out", op.ID, ErrUnexpectedResponse, resp.StatusCode))
		case resp.StatusCode < 300:
			body, retry, err := d.success(ctx, op, resp, tok)
			if !retry {
				return resp.StatusCode, body, err
			}
			lastErr, mayHaveApplied = err, true
		default:
			apiErr = newAPIError(op.ID, resp, d.secrets(tok))
			apiErr.Attempts, apiErr.EarlierAttemptMayHaveApplied = attempt, mayHaveApplied
			if resp.StatusCode == http.StatusUnauthorized {
				d.tokens.invalidate(tok) // the next call fetches a fresh one
			}
			if resp.StatusCode == http.StatusUnauthorized && !refreshed && (op.Idempotent || tokenRefused(resp.Header, tok, d.tokens.now())) {
				// Replay once with a fresh token. A 401 means nothing was applied;
				// a non-idempotent call relies on it only when the answer says the
				// token was refused (RFC 6750), or the token was about to expire.
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
				return 0, nil, unknownIf(op, true, apiErr)
			default:
				return 0, nil, apiErr
			}
			lastErr = apiErr
		}

		if attempt >= d.policy.MaxAttempts {
			return 0, nil, lastErr
		}
		wait := d.policy.backoff(attempt)
		if apiErr != nil && apiErr.RetryAfter > 0 {
			if apiErr.RetryAfter > d.policy.MaxRetryAfter {
				ob.event(EventRetryAfterTooLong, sends, apiErr.RetryAfter, lastErr)
				return 0, nil, lastErr // longer than the policy waits: the caller decides
			}
			wait = apiErr.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return 0, nil, fmt.Errorf("%w (not retried: the next attempt, in %s, is after the context deadline)", lastErr, wait.Round(time.Millisecond))
		}
		ob.retry(wait, lastErr) // observe
		if err := d.sleep(ctx, wait); err != nil {
			return 0, nil, fmt.Errorf("%w (not retried: %w while waiting to retry)", lastErr, err)
		}
	}
}

// newBodyReader returns a request body over b. net/http knows this shape holds
// its bytes in memory, and writes the headers and the body at once.
func newBodyReader(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// readBounded reads r whole, or its first max+1 bytes: a result longer than max
// tells the answer is larger. size is the length the answer announced
// (Content-Length, -1 if unknown): an answer of up to 64 KiB is then read in one
// allocation. Memory follows the bytes read, never the announced size.
func readBounded(r io.Reader, max, size int64) ([]byte, error) {
	limit := max
	if limit < math.MaxInt64 {
		limit++
	}
	n := int64(512)
	if size >= 0 && size < 64<<10 {
		n = size + 1 // room to see the EOF
	}
	b := make([]byte, 0, min(n, limit))
	for int64(len(b)) < limit {
		if len(b) == cap(b) {
			b = slices.Grow(b, 1)
		}
		m, err := r.Read(b[len(b):int(min(int64(cap(b)), limit))])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

// success reads a 2xx answer whole, at most maxBody bytes, and checks that the
// spec declares its status and that it is JSON. It returns the answer's body, or an
// error. retry is true when an idempotent call lost its answer to the network and
// may be sent again.
//
// The call was carried out, so every error wraps ErrUnexpectedResponse, and
// ErrOutcomeUnknown for a non-idempotent call.
func (d *doer) success(ctx context.Context, op *ops.Operation, resp *http.Response, tok *oauth2.Token) (_ []byte, retry bool, _ error) {
	body, err := readBounded(resp.Body, d.maxBody, resp.ContentLength)
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
		why = fmt.Errorf("%d answer, the spec declares %v; body %q", resp.StatusCode, op.Statuses, d.excerpt(body, tok))
	case !isJSON(resp.Header.Get("Content-Type")):
		why = fmt.Errorf("%d answer with Content-Type %q, want JSON; body %q", resp.StatusCode, oneLine(redact(resp.Header.Get("Content-Type"), d.secrets(tok))), d.excerpt(body, tok))
	default:
		return body, false, nil
	}
	return nil, false, unknownIf(op, true, fmt.Errorf("billing: %s: %w: %w; the call was carried out", op.ID, ErrUnexpectedResponse, why))
}

// excerpt returns the start of a body for an error, secrets redacted first.
func (d *doer) excerpt(body []byte, tok *oauth2.Token) string {
	return excerpt([]byte(redact(string(body), d.secrets(tok))), 200)
}

// tokenRefused reports whether a 401 answer says that the token was refused
// (RFC 6750: a Bearer challenge with error="invalid_token"), or tok was about to
// expire anyway.
func tokenRefused(h http.Header, tok *oauth2.Token, now time.Time) bool {
	for _, v := range h.Values("Www-Authenticate") {
		v = strings.ToLower(v)
		if strings.HasPrefix(v, "bearer") && (strings.Contains(v, `error="invalid_token"`) || strings.Contains(v, "error=invalid_token")) {
			return true
		}
	}
	return !tok.Expiry.IsZero() && tok.Expiry.Sub(now) < expiryMargin
}

func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// unknownIf wraps err with ErrOutcomeUnknown when the operation is not idempotent
// and the server may have acted on the request.
func unknownIf(op *ops.Operation, mayHaveActed bool, err error) error {
	if op.Idempotent || !mayHaveActed {
		return err
	}
	return &unknownError{op: op.ID, cause: err}
}

// sendTrace records how far a request got, to tell whether the server can have
// acted on it when the round trip fails. It holds its ClientTrace, so that one
// allocation (and one per hook) serves an attempt.
type sendTrace struct {
	getConn atomic.Bool  // the transport asked for a connection
	gotConn atomic.Bool  // a connection was obtained (dialled, TLS done, or reused)
	writes  atomic.Int32 // how many times the whole request was written
	ct      httptrace.ClientTrace
	// The request's body reads through the trace. net/http gets a second
	// connection for a request only while its body is unread (it cannot rewind
	// it); a transport that reads it first (to log or check it) then gets one.
	// Two connections after the body was read are two round trips of a body
	// read once: a layer under the client re-sends it.
	body     io.ReadCloser
	bodyRead atomic.Bool
	connLate atomic.Int32
}

// traceContext returns the context of the first attempt of a call of op: ctx and,
// for a non-idempotent operation, the trace of its sending, which doer.do reads.
// An idempotent operation needs no trace: whether it was sent changes nothing (it is
// retried, and never reported as an unknown outcome).
func traceContext(ctx context.Context, op *ops.Operation) (context.Context, *sendTrace) {
	if op.Idempotent || ctx == nil { // send refuses a nil ctx
		return ctx, nil
	}
	sent := newSendTrace()
	return httptrace.WithClientTrace(ctx, &sent.ct), sent
}

func newSendTrace() *sendTrace {
	s := &sendTrace{}
	s.ct = s.hooks()
	return s
}

// hooks returns a ClientTrace that reports to s. httptrace.WithClientTrace
// composes it, in place, with the trace of the context it is given: one is
// made for each context (see callObs.attempt).
func (s *sendTrace) hooks() httptrace.ClientTrace {
	return httptrace.ClientTrace{
		GetConn: func(string) { s.getConn.Store(true) },
		GotConn: func(httptrace.GotConnInfo) {
			s.gotConn.Store(true)
			if s.bodyRead.Load() {
				s.connLate.Add(1)
			}
		},
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				s.writes.Add(1)
			}
		},
	}
}

func (s *sendTrace) Read(p []byte) (int, error) {
	s.bodyRead.Store(true)
	return s.body.Read(p)
}

func (s *sendTrace) Close() error { return s.body.Close() }

// resent reports whether the request was sent twice in one attempt: written
// twice, or given two connections after its body was read (nil: not traced).
func (s *sendTrace) resent() bool {
	return s != nil && (s.writes.Load() > 1 || s.connLate.Load() > 1)
}

// nothingSent reports whether a round trip that failed with err never delivered a
// complete request, so the server cannot have acted on it: no connection was
// obtained (DNS, dial, TLS handshake or certificate failures), or one was but the
// request was not completely written. A transport that reports no trace events at
// all (a caller's own RoundTripper) is assumed to have sent the request, unless the
// error is a DNS or dial error.
func (s *sendTrace) nothingSent(err error) bool {
	// s is nil when not traced (an idempotent operation, for which it changes nothing).
	return s.neverConnected(err) || s != nil && s.gotConn.Load() && s.writes.Load() == 0
}

// neverConnected reports whether a round trip that failed with err never got a
// connection (DNS, dial, TLS handshake or certificate failures), so that nothing
// of the request can have been written. The connection events are reported before
// net/http's round trip returns, whatever ended it.
func (s *sendTrace) neverConnected(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	return s != nil && s.getConn.Load() && !s.gotConn.Load()
}

// isTimeout reports whether err is a timeout of the HTTP client (Client.Timeout).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// transportError is an error of net/http's transport, told without the advice its
// HTTP/2 side gives ("define Request.GetBody to avoid this error"), which is the
// one thing a non-idempotent call must not do.
type transportError struct{ err error }

func (e transportError) Error() string {
	return strings.Replace(e.err.Error(), "; define Request.GetBody to avoid this error", "", 1)
}

func (e transportError) Unwrap() error { return e.err }

// checkHeaders refuses, before anything is sent, a header that net/http would
// refuse to send (a name that is not a token, a value with a control character,
// a connection-specific header HTTP/2 forbids), so that such a failure is
// reported as an invalid request, not as a network error; and Accept-Encoding,
// which would turn net/http's decompression off (the SDK reads answers as JSON,
// and bounds their decoded size). It puts each name in canonical form first, so
// that the request checks see every header.
func checkHeaders(op string, h http.Header) error {
	for name, values := range h {
		if ck := http.CanonicalHeaderKey(name); ck != name {
			h[ck] = append(h[ck][:len(h[ck]):len(h[ck])], values...)
			delete(h, name)
			name = ck
		}
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return r > 0x7e || !isTokenChar(byte(r)) }) >= 0 {
			return &InvalidRequestError{Operation: op, Field: fmt.Sprintf("header %q", name), Reason: "not a valid header name"}
		}
		for _, v := range values {
			if !validHeaderValue(v) {
				return &InvalidRequestError{Operation: op, Field: "header " + name, Reason: "value holds a control character"}
			}
		}
		switch {
		case name == "Accept-Encoding":
			return &InvalidRequestError{Operation: op, Field: "header " + name, Reason: "not allowed: net/http negotiates compression and decodes the answer"}
		case len(values) > 0 && http2Forbids(name, values):
			return &InvalidRequestError{Operation: op, Field: "header " + name, Reason: fmt.Sprintf("%q: HTTP/2 forbids it", values)}
		}
	}
	return nil
}

// http2Forbids reports whether net/http refuses to send the values vv (at least
// one) of header name over HTTP/2: a connection-specific header.
func http2Forbids(name string, vv []string) bool {
	switch v := vv[0]; name {
	case "Upgrade":
		return v != "" && v != "chunked"
	case "Transfer-Encoding":
		return len(vv) > 1 || v != "" && v != "chunked"
	case "Connection":
		return len(vv) > 1 || v != "" && !strings.EqualFold(v, "close") && !strings.EqualFold(v, "keep-alive")
	}
	return false
}

// validHeaderValue reports whether net/http sends v as a header value: no control
// character but the tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
