package webhook

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// An Observer watches the deliveries a Handler serves: Received when a request
// comes in (the context it returns is the delivery's: the HandlerFunc runs with
// it), Verified when its signature passed, Done when it is answered, with the
// outcome. WithObserver sets one; the billingotel package turns one into
// OpenTelemetry spans and metrics. Its methods must be safe for concurrent use
// and must not keep r, ev or d after they return. A method that panics does
// not change how the delivery is handled nor answered: the panic is recovered
// and dropped (and Received then returns the context it got).
type Observer interface {
	Received(ctx context.Context, r *http.Request) context.Context
	Verified(ctx context.Context, ev *Event)
	Done(ctx context.Context, d *Delivery)
}

// Delivery describes a delivery served, to an Observer.
type Delivery struct {
	Start     time.Time
	Duration  time.Duration
	Status    int             // the status answered
	Outcome   DeliveryOutcome // what the Handler did with it
	EventID   string          // the message id, "" if unknown
	EventType Type            // the event's type, "" if not verified
	Err       error           // why it was refused or failed: the SDK's texts hold no secret or signature, but a function's error is as it returned it
}

// DeliveryOutcome is what a Handler did with a delivery.
type DeliveryOutcome string

// Outcomes of a delivery.
const (
	DeliveryHandled    DeliveryOutcome = "handled"     // verified, and handled or acknowledged (204)
	DeliveryDuplicate  DeliveryOutcome = "duplicate"   // a message processed before (200)
	DeliveryStale      DeliveryOutcome = "stale"       // older than its entity's recorded version (200)
	DeliveryInProgress DeliveryOutcome = "in_progress" // being processed by another delivery (409)
	DeliveryRefused    DeliveryOutcome = "refused"     // not a verified webhook: method, size, signature, payload (4xx)
	DeliveryFailed     DeliveryOutcome = "failed"      // the HandlerFunc or the Tracker failed (500)
)

// WithObserver makes the Handler tell o of each delivery (see Observer).
func WithObserver(o Observer) HandlerOption {
	return func(h *Handler) {
		h.obs = nil
		if o != nil {
			h.obs = guardedObserver{o}
		}
	}
}

// guardedObserver runs the methods of an Observer, recovering and dropping a
// panic of theirs: a delivery is handled and answered the same whatever the
// code that watches it does. Received, when it panics or returns a nil
// context, gives back the context it got.
type guardedObserver struct{ o Observer }

// dropPanic, deferred, recovers a panic and drops it.
func dropPanic() { _ = recover() }

func (g guardedObserver) Received(ctx context.Context, r *http.Request) (out context.Context) {
	out = ctx
	defer dropPanic()
	if c := g.o.Received(ctx, r); c != nil {
		out = c
	}
	return out
}

func (g guardedObserver) Verified(ctx context.Context, ev *Event) {
	defer dropPanic()
	g.o.Verified(ctx, ev)
}

func (g guardedObserver) Done(ctx context.Context, d *Delivery) {
	defer dropPanic()
	g.o.Done(ctx, d)
}

// deliveryKey is the context key of a delivery's start, set when it is observed.
type deliveryKey struct{}

// testLogger, set by the package's tests only, gives every Handler without a
// logger one, so that a test can scan each record the whole suite makes.
var testLogger *slog.Logger

// received starts the observation of a delivery, and returns its context.
func (h *Handler) received(r *http.Request) context.Context {
	ctx := r.Context()
	if h.obs == nil && h.log == nil {
		return ctx
	}
	ctx = context.WithValue(ctx, deliveryKey{}, time.Now())
	if h.obs != nil {
		ctx = h.obs.Received(ctx, r)
	}
	if h.log != nil {
		h.log.LogAttrs(ctx, slog.LevelDebug, "webhook: received", slog.Int64("content_length", r.ContentLength))
	}
	return ctx
}

// verified tells that ev passed the verification.
func (h *Handler) verified(ctx context.Context, ev *Event) {
	if h.obs != nil {
		h.obs.Verified(ctx, ev)
	}
	if h.log != nil && h.log.Enabled(ctx, slog.LevelDebug) {
		h.log.LogAttrs(ctx, slog.LevelDebug, "webhook: verified", eventAttrs(ev)...)
	}
}

// done tells the observer how the delivery was answered; attrs are those of
// its record (the Tracker's outcome of a delivery answered 200 among them).
func (h *Handler) done(ctx context.Context, status int, ev *Event, err error, attrs []slog.Attr) {
	if h.obs == nil {
		return
	}
	d := &Delivery{Status: status, Err: err}
	if start, ok := ctx.Value(deliveryKey{}).(time.Time); ok {
		d.Start, d.Duration = start, time.Since(start)
	}
	if ev != nil {
		d.EventID, d.EventType = ev.ID, ev.Type
	}
	switch {
	case status == http.StatusOK:
		d.Outcome = DeliveryDuplicate
		for _, a := range attrs {
			if a.Key == "outcome" && a.Value.String() == Stale.String() {
				d.Outcome = DeliveryStale
			}
		}
	case status < 300:
		d.Outcome = DeliveryHandled
	case status == http.StatusConflict:
		d.Outcome = DeliveryInProgress
	case status >= 500:
		d.Outcome = DeliveryFailed
	default:
		d.Outcome = DeliveryRefused
	}
	h.obs.Done(ctx, d)
}

// eventAttrs are the attributes that name ev in a record.
func eventAttrs(ev *Event) []slog.Attr {
	attrs := []slog.Attr{slog.String("event_type", string(ev.Type))}
	if ev.ID != "" {
		attrs = append(attrs, slog.String("event_id", ev.ID))
	}
	return attrs
}
