package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/internal/scrub"
)

// DefaultMaxBodySize is the largest body a Handler reads unless WithMaxBodySize
// changes it. Billing's events weigh a few KiB.
const DefaultMaxBodySize = 1 << 20

// DefaultReadTimeout is how long a Handler waits for a body, from when it
// starts reading it, unless WithReadTimeout changes it. Billing's bodies weigh
// a few KiB and come in one piece.
const DefaultReadTimeout = 10 * time.Second

// A HandlerFunc handles one verified event. Returning an error, or panicking,
// makes the Handler answer 500, and Billing delivers the event again later.
type HandlerFunc func(ctx context.Context, ev *Event) error

// A Handler is the http.Handler of a webhook endpoint. For each POST it:
//
//  1. reads the body, at most the maximum size (413 Request Entity Too Large
//     beyond it), within the read timeout (408 Request Timeout past it);
//  2. verifies it with its Verifier before decoding it (401 Unauthorized when
//     the signature or its timestamp does not pass, 400 Bad Request when the
//     authentic body is not a webhook);
//  3. with a Tracker, skips a duplicate or stale event (answering 200: done)
//     and answers 409 Conflict to a delivery of a message being processed by
//     another, so that Billing delivers it again later;
//  4. calls the function registered with On for the event's type, or else the
//     one registered with OnOther; without either, the event is acknowledged;
//  5. answers 204 No Content when that function succeeded, 500 Internal Server
//     Error when it failed or panicked: Billing retries any non-2xx answer for
//     about a day (immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
//     10 h). A panic is recovered and is a failure like any other: the Tracker
//     records nothing (the claim is released, the version not advanced).
//
// Other methods get 405. Answers carry no detail; the logger (WithLogger)
// gets the reasons, never a header, secret, signature or the body, and the
// e-mail addresses a function's error quotes are redacted. A panic is
// logged with its stack and the type of its value, not the value's text, which
// may quote the event (a runtime error, written by the runtime, keeps its
// text). A Handler is safe for concurrent use.
//
// The Handler bounds the time it waits for the body (WithReadTimeout, 408
// Request Timeout), but it runs only once the request's headers are in, and
// http.ListenAndServe, like a zero http.Server, sets no timeout at all. Serve
// it from an http.Server that sets (see ExampleHandler_serverTimeouts):
//
//   - ReadHeaderTimeout (a few seconds): without it, a client that sends its
//     headers slowly holds a connection and a goroutine for as long as it likes;
//   - ReadTimeout: the headers and the body together; the Handler never waits
//     for a body past it;
//   - WriteTimeout: from the end of the headers to the end of the answer, so
//     longer than your slowest function: past it the answer is lost and Billing
//     delivers the message again (which a Tracker skips if the function
//     succeeded);
//   - IdleTimeout: how long a kept-alive connection waits for its next request.
type Handler struct {
	verifier Verifier
	routes   map[Type]HandlerFunc
	other    HandlerFunc
	tracker  *Tracker
	maxBody  int64
	readTime time.Duration
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

// WithReadTimeout sets how long the Handler waits for the body (default
// DefaultReadTimeout): a body, however it trickles in, that has not arrived
// whole by then is answered 408 Request Timeout. The Handler sets the read
// deadline of the connection (of the stream, over HTTP/2) with
// http.ResponseController, never later than the server's own ReadTimeout
// would end the read. Zero or less sets none: the server's timeouts alone
// bound the body, as they do behind a ResponseWriter that cannot set a
// deadline (a wrapper without an Unwrap method).
//
// The Handler runs only once the request's headers are in: bounding those is
// the server's job (http.Server's ReadHeaderTimeout), as is bounding the
// writing of the answer (WriteTimeout). See the Handler's documentation.
func WithReadTimeout(d time.Duration) HandlerOption {
	return func(h *Handler) { h.readTime = d }
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
	h := &Handler{verifier: v, routes: map[Type]HandlerFunc{}, maxBody: DefaultMaxBodySize, readTime: DefaultReadTimeout}
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
		h.answer(ctx, w, http.StatusMethodNotAllowed, nil, slog.LevelWarn, "webhook: refused", fmt.Errorf("method %.32q", r.Method)) // sent unauthenticated: bounded
		return
	}
	body, err := h.read(w, r)
	if err != nil {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, ErrTooLarge):
			status = http.StatusRequestEntityTooLarge
		case errors.Is(err, os.ErrDeadlineExceeded):
			status = http.StatusRequestTimeout
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
	run := func(ctx context.Context) (err error) {
		if fn == nil {
			return nil
		}
		// Only a function that returned may have succeeded: recover returns
		// nil for panic(nil) under GODEBUG=panicnil=1, and runtime.Goexit
		// runs this without a panic.
		returned := false
		defer func() {
			if v := recover(); v != nil || !returned {
				err = &panicError{value: v, stack: debug.Stack()}
			}
		}()
		err = fn(ctx, ev)
		returned = true
		return err
	}
	// With no function for its type, an event is acknowledged and not
	// recorded: it must not make a later event of its entity look stale.
	tracked := h.tracker != nil && fn != nil
	out := Processed
	if tracked {
		out, err = h.tracker.Process(ctx, ev, run)
	} else {
		err = run(ctx)
	}
	var panicked *panicError
	switch {
	case tracked && errors.Is(err, ErrInProgress):
		h.answer(ctx, w, http.StatusConflict, ev, slog.LevelWarn, "webhook: delivered again while being processed", nil)
	case errors.As(err, &panicked):
		h.answer(ctx, w, http.StatusInternalServerError, ev, slog.LevelError, "webhook: handler panicked", nil,
			slog.String("panic", panicked.what()), slog.String("stack", string(panicked.stack)))
	case err != nil:
		h.answer(ctx, w, http.StatusInternalServerError, ev, slog.LevelError, "webhook: handler failed", err)
	case out == Processed:
		h.answer(ctx, w, http.StatusNoContent, ev, slog.LevelDebug, "webhook: processed", nil)
	default:
		h.answer(ctx, w, http.StatusOK, ev, slog.LevelDebug, "webhook: skipped", nil, slog.String("outcome", out.String()))
	}
}

// A panicError is a panic of a HandlerFunc, recovered: the delivery failed.
type panicError struct {
	value any
	stack []byte // of the panicking goroutine, from where it panicked
}

func (e *panicError) Error() string { return "webhook: the function panicked: " + e.what() }

// what describes the panic without the text of its value, which the partner's
// code may have built from the event (a customer's e-mail, the body): the text
// of a runtime error, which the runtime writes, or else the value's type.
func (e *panicError) what() string {
	if err, ok := e.value.(runtime.Error); ok {
		t := reflect.TypeOf(err)
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.PkgPath() == "runtime" {
			return err.Error()
		}
	}
	return fmt.Sprintf("%T", e.value)
}

// read reads the body within the read timeout, refusing one larger than the
// maximum.
func (h *Handler) read(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxBody {
		return nil, tooLarge(h.maxBody)
	}
	if h.readTime > 0 {
		// The server's ReadTimeout, counted from the start of the request,
		// ends sooner when it is not longer: keep it.
		srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
		if srv == nil || srv.ReadTimeout <= 0 || srv.ReadTimeout > h.readTime {
			// http.ErrNotSupported leaves the body to the server's timeouts.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.readTime))
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return nil, tooLarge(h.maxBody)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, fmt.Errorf("webhook: the body did not arrive in time: %w", os.ErrDeadlineExceeded)
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
		// A function's error may quote the event (a customer's e-mail).
		attrs = append(attrs, slog.String("error", scrub.Text(err.Error())))
	}
	h.log.LogAttrs(ctx, level, msg, attrs...)
}
