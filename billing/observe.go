package billing

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"time"

	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/internal/ops"
	"github.com/prestashopcorp/billing-sdk-go/internal/scrub"
	"github.com/prestashopcorp/billing-sdk-go/internal/sendtrace"
	"github.com/prestashopcorp/billing-sdk-go/internal/token"
)

// An Observer watches what a Client does: each call of an operation, each attempt
// (each request sent) of a call, and the events between them (a retry, a 401
// replayed with a fresh token, a token renewal that failed, a Retry-After beyond
// the policy's cap, an unknown outcome). WithLogger and WithObserver set one; the
// billingotel package turns one into OpenTelemetry spans and metrics.
//
// The calls come in this order for one call of an operation: StartCall, then for
// each attempt StartAttempt and EndAttempt (with Event between them, or after
// them), then EndCall. Each method gets the context the previous step returned:
// StartCall's for the attempts, events and EndCall, StartAttempt's for its
// EndAttempt. The context StartAttempt returns is the context of the request sent
// (so an instrumented http.RoundTripper sees what it holds); the token request,
// when one is needed, runs under StartCall's.
//
// The methods run on the caller's goroutine, and must be safe for concurrent use
// by many calls. They must not keep call, a or e after they return. A method
// that panics does not fail the call, which may already have been carried out
// (a usage added): the panic is recovered and dropped, and the call goes on as if
// the method had returned (StartCall and StartAttempt then return the context they
// got). Errors given to an Observer are the SDK's own: no client secret or token in
// their texts, but a message Billing answered may quote what the request carried
// (a customer's e-mail); log their texts with care, and prefer Call.ErrorType for
// labels.
type Observer interface {
	// StartCall is called when a call starts, before its first attempt (and
	// before the token it needs is fetched).
	StartCall(ctx context.Context, call *Call) context.Context
	// StartAttempt is called just before a request of call is sent.
	StartAttempt(ctx context.Context, call *Call, a *Attempt) context.Context
	// EndAttempt is called when the attempt's outcome is known: the answer read,
	// or the decision to retry made.
	EndAttempt(ctx context.Context, call *Call, a *Attempt)
	// Event reports an event of call. call is nil for an event of no call (a
	// token renewal that failed in the background): ctx is then that of the
	// call that started the renewal, which has most likely ended (its EndCall
	// called).
	Event(ctx context.Context, call *Call, e Event)
	// EndCall is called when the call returns, with its Duration, Attempts,
	// StatusCode, Header, Err and ErrorType set.
	EndCall(ctx context.Context, call *Call)
}

// Call describes one call of an operation to an Observer.
type Call struct {
	Operation     string // operationId, e.g. "setSubscriptionItemUsage"
	Method        string // HTTP method
	Route         string // path template, e.g. "/v1/invoices/{invoiceId}/download"
	URL           string // scheme://host/path of the request, without its query
	ServerAddress string // host name of the API
	ServerPort    int    // port of the API
	Idempotent    bool   // whether the operation may be sent again
	Start         time.Time

	// Set when the call ends.
	Duration       time.Duration
	Attempts       int         // requests sent, the 401 replay included
	StatusCode     int         // status of the last answer, 0 if none
	Header         http.Header // headers of the last answer, as APIError.Header keeps them; nil if none
	Err            error       // the error the call returns, nil on success
	ErrorType      string      // a short, bounded label of Err (see ErrorType), "" on success
	OutcomeUnknown bool        // Err wraps ErrOutcomeUnknown
}

// Attempt describes one request of a call to an Observer.
type Attempt struct {
	Number int // 1 for the first request, 2 for the next one (a retry or a 401 replay), ...
	Start  time.Time

	// Set when the attempt ends.
	Duration   time.Duration
	StatusCode int         // 0 if no answer came
	Header     http.Header // the answer's headers, as APIError.Header keeps them; nil if no answer came
	Err        error       // why the attempt failed (a network error, an *APIError, ...), nil if it succeeded
	ErrorType  string      // a short label of Err, "" if it succeeded
	Retried    bool        // another attempt follows
}

// EventKind tells what an Event reports. Later versions may add kinds (the
// usage meter's, for example): an Observer should report a kind it does not
// know under its String.
type EventKind int

// Events of a call (see Event).
const (
	// EventRetry: the attempt failed and another follows after Event.Wait.
	EventRetry EventKind = iota + 1
	// EventTokenRefused: Billing answered 401; the call is sent again, once,
	// with a fresh token.
	EventTokenRefused
	// EventTokenRenewalFailed: renewing the token before it expires failed; the
	// current token is used until it expires. Its call is nil.
	EventTokenRenewalFailed
	// EventRetryAfterTooLong: Billing asked to wait (Retry-After, in Event.Wait)
	// longer than RetryPolicy.MaxRetryAfter: the call is not retried.
	EventRetryAfterTooLong
	// EventOutcomeUnknown: a non-idempotent call failed after Billing may have
	// applied it; its error wraps ErrOutcomeUnknown.
	EventOutcomeUnknown
)

// String returns the event's name, e.g. "retry" or "outcome_unknown".
func (k EventKind) String() string {
	if k >= EventRetry && k <= EventOutcomeUnknown {
		return [...]string{"retry", "token_refused", "token_renewal_failed", "retry_after_too_long", "outcome_unknown"}[k-EventRetry]
	}
	return "event_" + strconv.Itoa(int(k))
}

// Event is something that happened during a call, between its attempts.
type Event struct {
	Kind    EventKind
	Attempt int           // the attempt it follows, 0 if none
	Wait    time.Duration // EventRetry: the wait before the next attempt; EventRetryAfterTooLong: the wait asked for
	Err     error         // what caused it
}

// WithObserver adds o to the client's observers: it sees every call, attempt and
// event (see Observer). Observers run in the order they were added, after the
// logger of WithLogger.
func WithObserver(o Observer) Option {
	return func(c *config) {
		if o != nil {
			c.observers = append(c.observers, o)
		}
	}
}

// WithLogger makes the client log with l (by default it logs nothing):
//
//   - at debug, one record per attempt: the operation, method, route, attempt
//     number, status, duration, the request id of the answer, whether it is
//     retried and why, and whether the outcome is unknown;
//   - at info, a 401 replayed with a fresh token;
//   - at warn, a token renewal that failed (the current token is kept until it
//     expires), a Retry-After longer than the retry policy waits, and an unknown
//     outcome.
//
// No record holds the client secret, a token or a customer's e-mail address: the
// texts of errors are redacted before they are logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// ResponseInfo is what Billing answered to a call, recorded by RecordResponse.
type ResponseInfo struct {
	StatusCode int         // status of the last answer, 0 if none came
	Header     http.Header // headers of the last answer (the request id among them) as APIError.Header keeps them, nil if none came
	Attempts   int         // requests sent, the 401 replay included
	Duration   time.Duration
}

// RequestID returns the request id Billing's gateway gave the answer, from
// whichever of the usual headers carries it, or "".
func (r *ResponseInfo) RequestID() string { return RequestID(r.Header) }

// RecordResponse returns a per-call request editor that records into info what
// Billing answered (status, headers, attempts), whether the call succeeds or not,
// so that a caller keeps the typed result and still sees the answer's headers:
//
//	var info billing.ResponseInfo
//	inv, err := client.GetInvoiceDownload(ctx, id, billing.RecordResponse(&info))
//	log.Print(info.StatusCode, info.RequestID())
//
// info is written before the call returns; use one per call.
func RecordResponse(info *ResponseInfo) RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		*req = *req.WithContext(context.WithValue(req.Context(), recordKey{}, info))
		return nil
	}
}

type recordKey struct{}

// RequestID returns the request id in h, the headers of an answer of Billing (see
// APIError.Header and ResponseInfo.Header), from whichever of the usual headers
// carries it (X-Request-Id, Request-Id, X-Correlation-Id, ...), or "".
func RequestID(h http.Header) string {
	for _, k := range [...]string{"X-Request-Id", "Request-Id", "X-Correlation-Id", "X-Amzn-Requestid", "X-Amzn-Trace-Id", "Cf-Ray"} { // most specific first
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// ErrorType returns a short label for err, the error of a call or attempt, fit
// for a metric or span attribute (OpenTelemetry's error.type): "" for nil, the
// status code of an *APIError ("503"), else one of "invalid_request", "token",
// "timeout", "canceled", "unexpected_response", "transport".
func ErrorType(err error) string {
	var apiErr *APIError
	var invErr *InvalidRequestError
	var tokErr *token.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &apiErr):
		return strconv.Itoa(apiErr.StatusCode)
	case errors.As(err, &invErr):
		return "invalid_request"
	case errors.As(err, &tokErr):
		return "token"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "timeout"
	case errors.Is(err, ErrUnexpectedResponse):
		return "unexpected_response"
	}
	return "transport"
}

// observeClient gives a new client's doer and token cache the observers asked for.
func observeClient(cfg *config, d *doer) {
	obs := cfg.observers
	if cfg.logger == nil && testLogger != nil {
		cfg.logger = testLogger(cfg.clientSecret)
	}
	if cfg.logger != nil {
		obs = append([]Observer{&logObserver{log: cfg.logger, doer: d}}, obs...)
	}
	if len(obs) == 0 {
		return
	}
	o := observers(obs)
	d.obs = o
	d.tokens.RenewalFailed = func(ctx context.Context, err error) {
		o.Event(ctx, nil, Event{Kind: EventTokenRenewalFailed, Err: err})
	}
}

// testLogger, set by tests, gives a logger to every client without one (logscan_test.go).
var testLogger func(clientSecret string) *slog.Logger

// callObs observes one call; nil (doing nothing) when nothing observes it.
type callObs struct {
	obs    Observer      // nil when only recording
	record *ResponseInfo // nil when not recording
	call   Call
	ctx    context.Context // the call's context (StartCall's)
	att    Attempt
	actx   context.Context // the open attempt's context, nil when none is open
}

// do sends a call through attempts, observed if the client has an observer or the
// call records its answer (RecordResponse).
func (d *doer) do(ctx context.Context, op *ops.Operation, req *http.Request, sent *sendtrace.Trace, rewind func() (io.ReadCloser, error)) (int, []byte, *oauth2.Token, error) {
	record, _ := req.Context().Value(recordKey{}).(*ResponseInfo)
	if d.obs == nil && record == nil {
		return d.attempts(ctx, op, req, sent, rewind, nil)
	}
	ob := &callObs{obs: d.obs, record: record, ctx: ctx, call: Call{Operation: op.ID, Method: op.Method, Route: op.Path,
		Idempotent: op.Idempotent, Start: time.Now(), URL: req.URL.Scheme + "://" + req.URL.Host + req.URL.EscapedPath(),
		ServerAddress: req.URL.Hostname(), ServerPort: 80}}
	if p, _ := strconv.Atoi(req.URL.Port()); p != 0 {
		ob.call.ServerPort = p
	} else if req.URL.Scheme == "https" {
		ob.call.ServerPort = 443
	}
	if ob.obs != nil {
		ob.ctx = ob.obs.StartCall(ctx, &ob.call)
	}
	status, body, tok, err := d.attempts(ob.ctx, op, req, sent, rewind, ob)
	ob.end(err)
	return status, body, tok, err
}

// attempt observes attempt n, about to send r, and returns r with its context. The
// first one's is made from the call's, with new hooks reporting to sent (its own
// are composed with the caller's trace already: again, they would run twice).
func (ob *callObs) attempt(r *http.Request, n int, sent *sendtrace.Trace) *http.Request {
	if ob == nil {
		return r
	}
	ob.endAttempt(false)
	ob.att = Attempt{Number: n, Start: time.Now()}
	ob.call.Attempts = n
	if ob.obs == nil {
		return r
	}
	base := r.Context()
	if n == 1 {
		base = ob.ctx
		if sent != nil {
			ct := sent.Hooks()
			base = httptrace.WithClientTrace(base, &ct)
		}
	}
	ob.actx = ob.obs.StartAttempt(base, &ob.call, &ob.att)
	return r.WithContext(ob.actx)
}

// answered records the answer (or the error) the attempt got.
func (ob *callObs) answered(resp *http.Response, err error) {
	if ob == nil {
		return
	}
	if ob.att.Err = err; resp != nil {
		h := scrub.Header(resp)
		ob.att.StatusCode, ob.att.Header, ob.call.StatusCode, ob.call.Header = resp.StatusCode, h, resp.StatusCode, h
	}
}

// event reports an event of the call. A retry or a 401 replayed ends the attempt,
// which failed with err, as retried.
func (ob *callObs) event(kind EventKind, attempt int, wait time.Duration, err error) {
	if ob == nil {
		return
	}
	if kind == EventRetry || kind == EventTokenRefused {
		ob.att.Err = err
		ob.endAttempt(true)
	}
	if ob.obs != nil {
		ob.obs.Event(ob.ctx, &ob.call, Event{Kind: kind, Attempt: attempt, Wait: wait, Err: err})
	}
}

// endAttempt ends the open attempt, if any.
func (ob *callObs) endAttempt(retried bool) {
	if ob.att.Number == 0 || ob.att.Duration != 0 {
		return
	}
	ob.att.Duration, ob.att.Retried, ob.att.ErrorType = max(time.Since(ob.att.Start), 1), retried, ErrorType(ob.att.Err)
	if ob.actx != nil { // set only when observed
		ob.obs.EndAttempt(ob.actx, &ob.call, &ob.att)
	}
	ob.actx = nil
}

// end ends the call, which returned err.
func (ob *callObs) end(err error) {
	if ob.att.Err == nil {
		ob.att.Err = err
	}
	ob.endAttempt(false)
	c := &ob.call
	c.Duration, c.Err, c.ErrorType, c.OutcomeUnknown = time.Since(c.Start), err, ErrorType(err), errors.Is(err, ErrOutcomeUnknown)
	if r := ob.record; r != nil {
		*r = ResponseInfo{StatusCode: c.StatusCode, Header: c.Header, Attempts: c.Attempts, Duration: c.Duration}
	}
	if ob.obs == nil {
		return
	}
	if c.OutcomeUnknown {
		ob.obs.Event(ob.ctx, c, Event{Kind: EventOutcomeUnknown, Attempt: c.Attempts, Err: err})
	}
	ob.obs.EndCall(ob.ctx, c)
}

// observers runs a client's observers in turn, each with the context the one before
// returned, dropping their panics: a call (perhaps applied) never fails because of
// the code that watches it, and the token renewal's goroutine never dies of it.
type observers []Observer

func (m observers) StartCall(ctx context.Context, call *Call) context.Context {
	for _, o := range m {
		guard(func() { ctx = orCtx(o.StartCall(ctx, call), ctx) })
	}
	return ctx
}

func (m observers) StartAttempt(ctx context.Context, call *Call, a *Attempt) context.Context {
	for _, o := range m {
		guard(func() { ctx = orCtx(o.StartAttempt(ctx, call, a), ctx) })
	}
	return ctx
}

func (m observers) EndAttempt(ctx context.Context, call *Call, a *Attempt) {
	for _, o := range m {
		guard(func() { o.EndAttempt(ctx, call, a) })
	}
}

func (m observers) Event(ctx context.Context, call *Call, e Event) {
	for _, o := range m {
		guard(func() { o.Event(ctx, call, e) })
	}
}

func (m observers) EndCall(ctx context.Context, call *Call) {
	for _, o := range m {
		guard(func() { o.EndCall(ctx, call) })
	}
}

// guard runs f, dropping its panic (a method that panicked leaves ctx as it was).
func guard(f func()) {
	defer func() { _ = recover() }()
	f()
}

// orCtx returns c, or else (a method returned nil) ctx.
func orCtx(c, ctx context.Context) context.Context {
	if c == nil {
		return ctx
	}
	return c
}
