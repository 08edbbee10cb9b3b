package billing

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prestashopcorp/billing-sdk-go/internal/scrub"
)

// logObserver is the Observer of WithLogger.
type logObserver struct {
	log  *slog.Logger
	doer *doer // for the credentials and the current token, never logged
}

func (l *logObserver) StartCall(ctx context.Context, _ *Call) context.Context { return ctx }
func (l *logObserver) EndCall(context.Context, *Call)                         {}
func (l *logObserver) StartAttempt(ctx context.Context, _ *Call, _ *Attempt) context.Context {
	return ctx
}

// EndAttempt logs the attempt at debug.
func (l *logObserver) EndAttempt(ctx context.Context, call *Call, a *Attempt) {
	if !l.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := append(make([]slog.Attr, 0, 12),
		slog.String("operation", call.Operation), slog.String("method", call.Method), slog.String("path", call.Route),
		slog.Int("attempt", a.Number), slog.Int("status", a.StatusCode), slog.Duration("duration", a.Duration),
		slog.Bool("retried", a.Retried))
	attrs = l.appendCause(attrs, a.Header, a.ErrorType, a.Err)
	if !a.Retried && call.Err != nil && call.OutcomeUnknown {
		attrs = append(attrs, slog.Bool("outcome_unknown", true))
	}
	l.log.LogAttrs(ctx, slog.LevelDebug, "billing: attempt", attrs...)
}

// Event logs the events a partner must see: at info a 401 replay, at warn the
// others. Retries are in the attempts' records (debug). A kind it does not
// know is logged at info under its name.
func (l *logObserver) Event(ctx context.Context, call *Call, e Event) {
	level, msg := slog.LevelWarn, ""
	switch e.Kind {
	case EventTokenRefused:
		level, msg = slog.LevelInfo, "billing: token refused (401), sending again with a new token"
	case EventTokenRenewalFailed:
		msg = "billing: renewing the access token failed; the current token is used until it expires"
	case EventRetryAfterTooLong:
		msg = "billing: Retry-After longer than the retry policy waits; not retried"
	case EventOutcomeUnknown:
		msg = "billing: outcome unknown; the call was not sent again, reconcile before sending it again"
	case EventRetry:
		return // in the attempt's record
	default:
		level, msg = slog.LevelInfo, "billing: "+e.Kind.String()
	}
	if !l.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	var h http.Header
	if call != nil {
		attrs = append(attrs, slog.String("operation", call.Operation), slog.String("method", call.Method), slog.String("path", call.Route))
		h = call.Header
	}
	if e.Attempt > 0 {
		attrs = append(attrs, slog.Int("attempt", e.Attempt))
	}
	if e.Wait > 0 {
		attrs = append(attrs, slog.Duration("wait", e.Wait))
	}
	l.log.LogAttrs(ctx, level, msg, l.appendCause(attrs, h, ErrorType(e.Err), e.Err)...)
}

// appendCause appends the request id in h and err, labelled errType, redacted.
func (l *logObserver) appendCause(attrs []slog.Attr, h http.Header, errType string, err error) []slog.Attr {
	if id := RequestID(h); id != "" {
		attrs = append(attrs, slog.String("request_id", l.redact(id)))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error_type", errType), slog.String("error", l.redact(err.Error())))
	}
	return attrs
}

// redact removes from s what a record must never hold: the credentials, the
// current access token, the value after an HTTP authentication scheme (Bearer,
// Basic) and e-mail addresses.
func (l *logObserver) redact(s string) string {
	return scrub.Text(scrub.Secrets(s, l.doer.secrets(nil)))
}
