package billing

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/header"
	"github.com/prestashopcorp/billing-sdk-go/internal/scrub"
)

// ErrOutcomeUnknown is wrapped by the error of a non-idempotent call (usage, charge at
// term, customer creation) that failed after its request may have reached the
// server: a 5xx or 3xx answer, a connection lost after the request was written, the
// context ending while waiting for or reading the answer, a 2xx answer that cannot
// be read. The change may or may not have been applied, so the SDK did not send it
// again, and neither must the caller without checking first.
//
// No operation of the API reads usage or pending charges back. What tells whether
// the call was applied: the next invoice's line items (a charge at term shows its
// description there; usage shows in the metered item's line), and for a customer
// creation a second addCustomer, which answers 403 CUSTOMER_ALREADY_EXISTS if the
// first one was applied. Record the unknown outcome and reconcile it from those,
// or with the partner who operates the subscription, before sending it again.
var ErrOutcomeUnknown = errors.New("outcome unknown")

// ErrUnexpectedResponse is wrapped by the error of a call that succeeded (2xx) with
// an answer that cannot be read: a status the spec does not declare, a body that is
// not JSON, does not decode into the operation's type, is cut short or is larger
// than WithMaxResponseBytes allows. The call was carried out; only its answer is
// lost. For a non-idempotent call the error wraps ErrOutcomeUnknown too, so a
// caller that checks only ErrOutcomeUnknown never sends it twice.
var ErrUnexpectedResponse = errors.New("unexpected success response")

// unknownError is the error of a non-idempotent call whose outcome is unknown.
type unknownError struct {
	op    string
	cause error
}

func (e *unknownError) Error() string {
	return "billing: " + e.op + ": outcome unknown, not retried: " + strings.TrimPrefix(e.cause.Error(), "billing: "+e.op+": ")
}

// Unwrap returns ErrOutcomeUnknown and the cause (an *APIError, a network error, ...).
func (e *unknownError) Unwrap() []error { return []error{ErrOutcomeUnknown, e.cause} }

// APIError is a non-2xx answer of the Billing API. Use errors.As to get it:
//
//	var apiErr *billing.APIError
//	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound { ... }
type APIError struct {
	Operation  string        // operationId, e.g. "setSubscriptionItemUsage"
	StatusCode int           // HTTP status
	ErrorCode  string        // errorCode of the error body, if any
	Message    string        // message of the error body, if any
	RetryAfter time.Duration // the Retry-After header, if any
	// Location is the Location header of a 3xx answer (redacted). The Billing API
	// has no redirects: the SDK never follows one.
	Location string
	// Header holds the answer's headers (but Set-Cookie, and with the access
	// token redacted wherever they echo it): the request id Billing's gateway
	// gave it among them (see RequestID).
	Header http.Header
	// Body is the start of the response body (at most 4 KiB), for answers that are
	// not the spec's error body. Like every text of the error, it holds no
	// credential: the client secret and the bearer token, if the server echoed
	// them, are replaced by "[redacted]".
	Body []byte
	// Attempts is how many attempts the call made, this answer's included (a
	// replay after a 401 is not counted).
	Attempts int

	// EarlierAttemptMayHaveApplied is set when an earlier attempt of the call may
	// have been carried out (see MayHaveApplied).
	EarlierAttemptMayHaveApplied bool
}

// MayHaveApplied reports whether the call may have been carried out even though
// it ended with this answer: the answer is a 5xx or a 3xx (it may follow an
// application), or an earlier attempt of the call may have reached the server
// and been applied before its answer was lost (a 5xx, a connection lost after
// the request was written, a 2xx answer cut short), so that this answer, even a
// 4xx refusal, is only the retry's. A 4xx for which it is false means nothing
// was applied.
func (e *APIError) MayHaveApplied() bool {
	return e.EarlierAttemptMayHaveApplied || e.StatusCode >= 500 || e.StatusCode >= 300 && e.StatusCode < 400
}

// Error tells the operation, the status and the error body's code and message (or
// the start of a body that is not the spec's error body), and the Retry-After if
// any, on one line.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "billing: %s: %d", e.Operation, e.StatusCode)
	if text := http.StatusText(e.StatusCode); text != "" {
		b.WriteString(" " + text)
	}
	for _, s := range []string{e.ErrorCode, e.Message} {
		if s != "" {
			b.WriteString(": " + scrub.OneLine(s))
		}
	}
	if e.ErrorCode == "" && e.Message == "" && len(e.Body) > 0 {
		fmt.Fprintf(&b, ": body %q", scrub.Excerpt(e.Body, 200))
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (Retry-After %s)", e.RetryAfter)
	}
	if e.Location != "" {
		fmt.Fprintf(&b, " (redirect to %s, not followed)", scrub.OneLine(e.Location))
	}
	if e.EarlierAttemptMayHaveApplied {
		fmt.Fprintf(&b, " (attempt %d: an earlier attempt may have been applied)", e.Attempts)
	}
	return b.String()
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 4 << 10

// newAPIError reads (at most maxErrorBody of) resp's body, closes it and returns
// the APIError it describes, secrets redacted.
func newAPIError(op string, resp *http.Response, secrets []string) *APIError {
	n := maxErrorBody // and room to redact a secret that straddles the cut
	for _, s := range secrets {
		n += len(s)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, int64(n)))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	_ = resp.Body.Close()
	body = []byte(scrub.Secrets(string(body), secrets))
	e := &APIError{Operation: op, StatusCode: resp.StatusCode, RetryAfter: header.RetryAfter(resp.Header, time.Now()), Header: scrub.Header(resp)}
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if u, err := url.Parse(loc); err == nil {
			loc = u.Redacted()
		}
		e.Location = scrub.Secrets(loc, secrets)
	}
	var eb gen.Error
	if json.Unmarshal(body, &eb) == nil && (eb.ErrorCode != "" || eb.Message != "") {
		e.ErrorCode, e.Message = scrub.Secrets(eb.ErrorCode, secrets), scrub.Secrets(eb.Message, secrets)
		return e
	}
	e.Body = body[:min(len(body), maxErrorBody)]
	return e
}

// InvalidRequestError is a request that breaks the spec, caught before it was sent:
// nothing reached the server.
type InvalidRequestError struct {
	Operation string // operationId
	Field     string // what is wrong, e.g. "usageQuantity" or "path parameter subscriptionId"
	Reason    string // why, e.g. "number must be more than 0"
	Err       error  // the cause, when the request could not be built (else nil)
}

// Error names the operation, the field and the reason.
func (e *InvalidRequestError) Error() string {
	return fmt.Sprintf("billing: %s: invalid request, nothing sent: %s: %s", e.Operation, e.Field, e.Reason)
}

// Unwrap returns the cause, if any.
func (e *InvalidRequestError) Unwrap() error { return e.Err }
