package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
)

// DefaultMaxBodySize is the largest body a Handler reads unless WithMaxBodySize
// changes it. Billing's events weigh a few KiB.
const DefaultMaxBodySize = 1 << 20

// A HandlerFunc handles one verified event. Returning an error makes the
// Handler answer 500, and Billing delivers the event again later.
type HandlerFunc func(ctx context.Context, ev *Event) error

// A Handler is the http.Handler of a webhook endpoint. For each POST it:
//
//  1. reads the body, at most the maximum size (413 Request Entity Too Large
//     beyond it);
//  2. verifies it with its Verifier before decoding it (401 Unauthorized when
//     the signature or its timestamp does not pass, 400 Bad Request when the
//     authentic body is not a webhook);
//  3. with a Tracker, skips a duplicate or stale event (answering 200: done)
//     and answers 409 Conflict to a delivery of a message being processed by
//     another, so that Billing delivers it again later;
//  4. calls the function registered with On for the event's type, or else the
//     one registered with OnOther; without either, the event is acknowledged;
//  5. answers 204 No Content when that function succeeded, 500 Internal Server
//     Error when it failed: Billing retries any non-2xx answer for about a
//     day (immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
//
// Other methods get 405. Answers carry no detail; the logger (WithLogger)
// gets the reasons, never a header, secret or signature. A Handler is safe for
// concurrent use.
type Handler struct {
	verifier Verifier
	routes   map[Type]HandlerFunc
	other    HandlerFunc
	tracker  *Tracker
	maxBody  int64
	log      *slog.Logger
	obs      Observer // observe: WithObserver
}

// A HandlerOption configures a Handler.
type HandlerOption func(*Handler)

// On registers fn for the events of type t; a later On for t replaces it.
func On(t Type, fn HandlerFunc) HandlerOption {
	return func(h *Handler) { h.routes[t] = fn }
}

// OnOther registers fn for the events no On names, unknown types included.
func OnOther(fn HandlerFunc) HandlerOption {
	return func(h *Handler) { h.other = fn }
}

// WithTracker processes each message once and each entity's events in order
// with t (see Tracker.Process).
func WithTracker(t *Tracker) HandlerOption {
	return func(h *Handler) { h.tracker = t }
}

// WithMaxBodySize sets the largest body read (default DefaultMaxBodySize).
func WithMaxBodySize(n int64) HandlerOption {
	return func(h *Handler) { h.maxBody = n }
}

// WithLogger logs each refused or failed delivery (warn and error levels) and
// each skipped one (debug), with the event's id and type when known. By default
// the Handler logs nothing.
func WithLogger(l *slog.Logger) HandlerOption {
	return func(h *Handler) { h.log = l }
}

// NewHandler returns a Handler verifying deliveries with v. It panics if v is
// nil or the maximum body size is not positive.
func NewHandler(v Verifier, opts ...HandlerOption) *Handler {
	if v == nil {
		panic("webhook: NewHandler: nil Verifier")
	}
	h := &Handler{verifier: v, routes: map[Type]HandlerFunc{}, maxBody: DefaultMaxBodySize}
	for _, o := range opts {
		o(h)
	}
	if h.maxBody <= 0 {
		panic("webhook: WithMaxBodySize: the size must be positive")
	}
	if h.log == nil {
		h.log = testLogger // observe: nil but in the package's tests
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := h.received(r) // observe: r.Context(), with the delivery's observation
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.answer(ctx, w, http.StatusMethodNotAllowed, nil, slog.LevelWarn, "webhook: refused", errors.New("method "+r.Method))
		return
	}
	body, err := h.read(w, r)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		h.answer(ctx, w, status, nil, slog.LevelWarn, "webhook: refused", err)
		return
	}
	ev, err := h.verifier.Verify(body, r.Header)
	if err != nil {
		status := http.StatusUnauthorized // whatever else a Verifier returns: not authenticated
		if errors.Is(err, ErrInvalidPayload) {
			status = http.StatusBadRequest
		}
		h.answer(ctx, w, status, nil, slog.LevelWarn, "webhook: refused", err)
		return
	}
	h.verified(ctx, ev) // observe
	fn := h.routes[ev.Type]
	if fn == nil {
		fn = h.other
	}
	run := func(ctx context.Context) error {
		if fn == nil {
			return nil
		}
		return fn(ctx, ev)
	}
	if h.tracker == nil || fn == nil {
		// With no function for its type, an event is acknowledged and not
		// recorded: it must not make a later event of its entity look stale.
		if err := run(ctx); err != nil {
			h.answer(ctx, w, http.StatusInternalServerError, ev, slog.LevelError, "webhook: handler failed", err)
			return
		}
		h.answer(ctx, w, http.StatusNoContent, ev, slog.LevelDebug, "webhook: processed", nil)
		return
	}
	out, err := h.tracker.Process(ctx, ev, run)
	switch {
	case errors.Is(err, ErrInProgress):
		h.answer(ctx, w, http.StatusConflict, ev, slog.LevelWarn, "webhook: delivered again while being processed", nil)
	case err != nil:
		h.answer(ctx, w, http.StatusInternalServerError, ev, slog.LevelError, "webhook: handler failed", err)
	case out == Processed:
		h.answer(ctx, w, http.StatusNoContent, ev, slog.LevelDebug, "webhook: processed", nil)
	default:
		h.answer(ctx, w, http.StatusOK, ev, slog.LevelDebug, "webhook: skipped", nil, slog.String("outcome", out.String()))
	}
}

// read reads the body, refusing one larger than the maximum.
func (h *Handler) read(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxBody {
		return nil, tooLarge(h.maxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, tooLarge(h.maxBody)
		}
		return nil, fmt.Errorf("%w: reading the body: %v", ErrInvalidPayload, err)
	}
	return body, nil
}

func tooLarge(limit int64) error {
	return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
}

// answer writes the status without a body and logs the outcome.
func (h *Handler) answer(ctx context.Context, w http.ResponseWriter, status int, ev *Event, level slog.Level, msg string, err error, attrs ...slog.Attr) {
	w.WriteHeader(status)
	h.done(ctx, status, ev, err, attrs) // observe
	if h.log == nil || !h.log.Enabled(ctx, level) {
		return
	}
	attrs = append(attrs, slog.Int("status", status))
	if ev != nil {
		attrs = append(attrs, slog.String("event_type", string(ev.Type)))
		if ev.ID != "" {
			attrs = append(attrs, slog.String("event_id", ev.ID))
		}
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	h.log.LogAttrs(ctx, level, msg, attrs...)
}
