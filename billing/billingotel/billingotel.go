// Package billingotel reports what a billing.Client and a webhook.Handler do
// as OpenTelemetry spans and metrics. It is a billing.Observer and a
// webhook.Observer, so that the billing package itself does not depend on
// OpenTelemetry: only a program that imports billingotel links it.
//
// For a call of an operation it makes a span named after the operation (kind
// internal) and, under it, one span per attempt following the HTTP client
// semantic conventions (kind client, named "METHOD /route", with
// http.request.method, server.address, server.port, url.full without its query,
// url.template, http.request.resend_count on a resend, http.response.status_code
// and error.type). The call's span gets the events billing.retry,
// billing.token_refused, billing.retry_after_too_long and
// billing.outcome_unknown. A token renewal that failed in the background (the
// current token kept) is a span of its own, billing.token_renewal_failed. The
// context of each request sent carries its attempt's span: an instrumented
// transport (otelhttp) nests its spans under it, and the token request under
// the call's.
//
// Metrics: billing.client.call.duration (s), billing.client.call.attempts,
// billing.client.outcome_unknown, http.client.request.duration (s, per attempt),
// billing.webhook.delivery.duration (s, with the delivery's outcome).
//
// No span or attribute holds an error's text, which may quote what Billing
// answered: errors are told by their error.type.
package billingotel

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// ScopeName is the instrumentation scope of the spans and metrics.
const ScopeName = "github.com/prestashopcorp/billing-sdk-go/billing/billingotel"

// Attribute keys of the semantic conventions, and of the SDK's own.
const (
	keyMethod      = attribute.Key("http.request.method")
	keyServer      = attribute.Key("server.address")
	keyPort        = attribute.Key("server.port")
	keyURL         = attribute.Key("url.full")
	keyRoute       = attribute.Key("url.template")
	keyResend      = attribute.Key("http.request.resend_count")
	keyStatus      = attribute.Key("http.response.status_code")
	keyErrorType   = attribute.Key("error.type")
	keyOperation   = attribute.Key("billing.operation")
	keyAttempts    = attribute.Key("billing.attempts")
	keyAttempt     = attribute.Key("billing.attempt")
	keyWait        = attribute.Key("billing.wait")
	keyUnknown     = attribute.Key("billing.outcome_unknown")
	keyEventType   = attribute.Key("webhook.event_type")
	keyEventID     = attribute.Key("webhook.message_id")
	keyOutcome     = attribute.Key("webhook.outcome")
	unknownOutcome = "billing.outcome_unknown"
)

// Observer turns what a billing.Client and a webhook.Handler do into spans
// and metrics. Pass it to billing.WithObserver and webhook.WithObserver.
type Observer struct {
	tracer          trace.Tracer
	callDuration    metric.Float64Histogram
	callAttempts    metric.Int64Histogram
	unknown         metric.Int64Counter
	attemptDuration metric.Float64Histogram
	webhookDuration metric.Float64Histogram
}

var (
	_ billing.Observer = (*Observer)(nil)
	_ webhook.Observer = (*Observer)(nil)
)

// New returns an Observer making its spans with tp and its metrics with mp;
// nil stands for the global provider (otel.GetTracerProvider,
// otel.GetMeterProvider). An instrument that cannot be made is reported to
// otel.Handle and left out.
func New(tp trace.TracerProvider, mp metric.MeterProvider) *Observer {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName, metric.WithInstrumentationVersion(billing.Version))
	o := &Observer{tracer: tp.Tracer(ScopeName, trace.WithInstrumentationVersion(billing.Version))}
	var err error
	report := func() {
		if err != nil {
			otel.Handle(err)
		}
	}
	o.callDuration, err = m.Float64Histogram("billing.client.call.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of the calls of Billing API operations, retries included."))
	report()
	o.callAttempts, err = m.Int64Histogram("billing.client.call.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("Requests sent per call of a Billing API operation."))
	report()
	o.unknown, err = m.Int64Counter("billing.client.outcome_unknown", metric.WithUnit("{call}"),
		metric.WithDescription("Non-idempotent calls that failed after Billing may have applied them."))
	report()
	o.attemptDuration, err = m.Float64Histogram("http.client.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP client requests."))
	report()
	o.webhookDuration, err = m.Float64Histogram("billing.webhook.delivery.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of the webhook deliveries served."))
	report()
	return o
}

// StartCall starts the call's span.
func (o *Observer) StartCall(ctx context.Context, call *billing.Call) context.Context {
	ctx, _ = o.tracer.Start(ctx, call.Operation, trace.WithSpanKind(trace.SpanKindInternal), trace.WithTimestamp(call.Start),
		trace.WithAttributes(keyOperation.String(call.Operation), keyServer.String(call.ServerAddress)))
	return ctx
}

// StartAttempt starts the attempt's span, a child of the call's.
func (o *Observer) StartAttempt(ctx context.Context, call *billing.Call, a *billing.Attempt) context.Context {
	attrs := make([]attribute.KeyValue, 0, 7)
	attrs = append(attrs, keyMethod.String(call.Method), keyServer.String(call.ServerAddress), keyPort.Int(call.ServerPort),
		keyURL.String(call.URL), keyRoute.String(call.Route), keyOperation.String(call.Operation))
	if a.Number > 1 {
		attrs = append(attrs, keyResend.Int(a.Number-1))
	}
	ctx, _ = o.tracer.Start(ctx, call.Method+" "+call.Route, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(a.Start), trace.WithAttributes(attrs...))
	return ctx
}

// EndAttempt ends the attempt's span and records its duration.
func (o *Observer) EndAttempt(ctx context.Context, call *billing.Call, a *billing.Attempt) {
	span := trace.SpanFromContext(ctx)
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, keyMethod.String(call.Method), keyServer.String(call.ServerAddress), keyPort.Int(call.ServerPort))
	if a.StatusCode > 0 {
		attrs = append(attrs, keyStatus.Int(a.StatusCode))
	}
	if a.ErrorType != "" {
		attrs = append(attrs, keyErrorType.String(a.ErrorType))
		span.SetStatus(codes.Error, a.ErrorType)
	}
	span.SetAttributes(attrs...)
	span.End(trace.WithTimestamp(a.Start.Add(a.Duration)))
	if o.attemptDuration != nil {
		o.attemptDuration.Record(ctx, a.Duration.Seconds(), metric.WithAttributes(attrs...))
	}
}

// Event adds the event to the call's span. An event of no call (a token
// renewal that failed, in the background) gets a span of its own, named after
// it, child of the span of the context that started the renewal: that call
// has most likely ended, and an event added to an ended span is lost.
func (o *Observer) Event(ctx context.Context, call *billing.Call, e billing.Event) {
	attrs := make([]attribute.KeyValue, 0, 3)
	if e.Attempt > 0 {
		attrs = append(attrs, keyAttempt.Int(e.Attempt))
	}
	if e.Wait > 0 {
		attrs = append(attrs, keyWait.String(e.Wait.String()))
	}
	if t := billing.ErrorType(e.Err); t != "" {
		attrs = append(attrs, keyErrorType.String(t))
	}
	if call == nil {
		_, span := o.tracer.Start(ctx, "billing."+e.Kind.String(), trace.WithSpanKind(trace.SpanKindInternal),
			trace.WithAttributes(attrs...))
		if t := billing.ErrorType(e.Err); t != "" {
			span.SetStatus(codes.Error, t)
		}
		span.End()
		return
	}
	trace.SpanFromContext(ctx).AddEvent("billing."+e.Kind.String(), trace.WithAttributes(attrs...))
}

// EndCall ends the call's span and records the call's metrics.
func (o *Observer) EndCall(ctx context.Context, call *billing.Call) {
	span := trace.SpanFromContext(ctx)
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, keyOperation.String(call.Operation))
	if call.StatusCode > 0 {
		attrs = append(attrs, keyStatus.Int(call.StatusCode))
	}
	if call.ErrorType != "" {
		attrs = append(attrs, keyErrorType.String(call.ErrorType))
	}
	span.SetAttributes(append(attrs, keyAttempts.Int(call.Attempts), keyUnknown.Bool(call.OutcomeUnknown))...)
	switch {
	case call.OutcomeUnknown:
		span.SetStatus(codes.Error, unknownOutcome)
	case call.ErrorType != "":
		span.SetStatus(codes.Error, call.ErrorType)
	}
	span.End(trace.WithTimestamp(call.Start.Add(call.Duration)))
	opt := metric.WithAttributes(attrs...)
	if o.callDuration != nil {
		o.callDuration.Record(ctx, call.Duration.Seconds(), opt)
	}
	if o.callAttempts != nil {
		o.callAttempts.Record(ctx, int64(call.Attempts), opt)
	}
	if call.OutcomeUnknown && o.unknown != nil {
		o.unknown.Add(ctx, 1, metric.WithAttributes(keyOperation.String(call.Operation)))
	}
}

// Received starts the span of a webhook delivery, named after its method
// ("billing.webhook POST"). A method HTTP does not define is told as _OTHER,
// as the semantic conventions say: it comes from whoever sent the request,
// before its signature is checked, and may be as long as a request line.
func (o *Observer) Received(ctx context.Context, r *http.Request) context.Context {
	method := knownMethod(r.Method)
	ctx, _ = o.tracer.Start(ctx, "billing.webhook "+method, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(keyMethod.String(method)))
	return ctx
}

// knownMethod returns m if HTTP defines it, else "_OTHER".
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// Verified adds the event webhook.verified to the delivery's span.
func (o *Observer) Verified(ctx context.Context, ev *webhook.Event) {
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(keyEventType.String(string(ev.Type)), keyEventID.String(ev.ID))
	span.AddEvent("webhook.verified")
}

// Done ends the delivery's span and records its duration.
func (o *Observer) Done(ctx context.Context, d *webhook.Delivery) {
	span := trace.SpanFromContext(ctx)
	attrs := []attribute.KeyValue{keyOutcome.String(string(d.Outcome)), keyStatus.Int(d.Status)}
	if d.Outcome == webhook.DeliveryRefused || d.Outcome == webhook.DeliveryFailed {
		attrs = append(attrs, keyErrorType.String(string(d.Outcome)))
		span.SetStatus(codes.Error, string(d.Outcome))
	}
	span.SetAttributes(attrs...)
	span.End()
	if o.webhookDuration != nil {
		if d.EventType != "" {
			attrs = append(attrs, keyEventType.String(string(d.EventType)))
		}
		o.webhookDuration.Record(ctx, d.Duration.Seconds(), metric.WithAttributes(attrs...))
	}
}
