package billingotel_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingotel"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/logscan"
)

// telemetry is an in-memory trace and metric pipeline.
type telemetry struct {
	spans   *tracetest.SpanRecorder
	tp      *sdktrace.TracerProvider
	metrics *sdkmetric.ManualReader
	mp      *sdkmetric.MeterProvider
	obs     *billingotel.Observer
}

func newTelemetry() *telemetry {
	t := &telemetry{spans: tracetest.NewSpanRecorder(), metrics: sdkmetric.NewManualReader()}
	t.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(t.spans))
	t.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(t.metrics))
	t.obs = billingotel.New(t.tp, t.mp)
	return t
}

// tree returns the ended spans as lines, each child indented under its parent,
// in the order they started: "name [attributes] {events}".
func (t *telemetry) tree(show ...attribute.Key) []string {
	spans := t.spans.Ended()
	children := map[string][]sdktrace.ReadOnlySpan{}
	var roots []sdktrace.ReadOnlySpan
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanContext().SpanID().String()] = true
	}
	for _, s := range spans {
		if p := s.Parent().SpanID().String(); s.Parent().IsValid() && ids[p] {
			children[p] = append(children[p], s)
		} else {
			roots = append(roots, s)
		}
	}
	var lines []string
	var walk func([]sdktrace.ReadOnlySpan, string)
	walk = func(ss []sdktrace.ReadOnlySpan, indent string) {
		sortByStart(ss)
		for _, s := range ss {
			line := indent + s.Name()
			var attrs []string
			for _, k := range show {
				for _, kv := range s.Attributes() {
					if kv.Key == k {
						attrs = append(attrs, fmt.Sprintf("%s=%s", kv.Key, kv.Value.String()))
					}
				}
			}
			if len(attrs) > 0 {
				line += " [" + strings.Join(attrs, " ") + "]"
			}
			var events []string
			for _, e := range s.Events() {
				events = append(events, e.Name)
			}
			if len(events) > 0 {
				line += " {" + strings.Join(events, " ") + "}"
			}
			lines = append(lines, line)
			walk(children[s.SpanContext().SpanID().String()], indent+"  ")
		}
	}
	walk(roots, "")
	return lines
}

func sortByStart(ss []sdktrace.ReadOnlySpan) {
	for i := 1; i < len(ss); i++ {
		for j := i; j > 0 && ss[j].StartTime().Before(ss[j-1].StartTime()); j-- {
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
}

// leaks returns the span names, attributes, event attributes and status
// descriptions that hold a secret, a token or an e-mail address.
func (t *telemetry) leaks(secrets ...string) []string {
	var found []string
	check := func(where, text string) {
		if l := logscan.Leak(text, secrets...); l != "" {
			found = append(found, where+": "+l)
		}
	}
	for _, s := range t.spans.Ended() {
		check("span name", s.Name())
		check("span status", s.Status().Description)
		for _, kv := range s.Attributes() {
			check("attribute "+string(kv.Key), kv.Value.String())
		}
		for _, e := range s.Events() {
			check("event", e.Name)
			for _, kv := range e.Attributes {
				check("event attribute "+string(kv.Key), kv.Value.String())
			}
		}
	}
	return found
}

// sums returns, per metric name, the count of a histogram or the sum of a counter.
func (t *telemetry) sums(tb testing.TB) map[string]int64 {
	var rm metricdata.ResourceMetrics
	if err := t.metrics.Collect(context.Background(), &rm); err != nil {
		tb.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != billingotel.ScopeName {
			continue // otelhttp's
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[m.Name] += int64(p.Count)
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+" sum"] += p.Sum
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name] += p.Value
				}
			}
		}
	}
	return out
}

var shown = []attribute.Key{"http.request.method", "http.request.resend_count", "http.response.status_code", "error.type", "billing.outcome_unknown"}

// TestSpansOfCalls checks the spans, events and metrics of a retried call, a
// 401 replayed (the customer then exists: 403), and an unknown outcome, with otelhttp on the client's
// transport: its spans nest under the attempts' (the token request's under the
// call's). No span holds a secret, a token or the customer's e-mail.
func TestSpansOfCalls(t *testing.T) {
	tests := []struct {
		name    string
		fault   string
		f       billingtest.Fault
		call    func(context.Context, *billing.Client) error
		want    []string
		metrics map[string]int64
	}{{
		name:  "retried after a 503",
		fault: "setSubscriptionItemQuantity", f: billingtest.Fault{Status: 503},
		call: func(ctx context.Context, c *billing.Client) error {
			_, err := c.SetSubscriptionItemQuantity(ctx, billingtest.SubscriptionID, billingtest.UsersPlanID, gen.QuantityInput{Quantity: 3})
			return err
		},
		want: []string{
			"setSubscriptionItemQuantity [http.response.status_code=200 billing.outcome_unknown=false] {billing.retry}",
			"  HTTP POST [http.request.method=POST http.response.status_code=200]",
			"  PUT /v1/subscriptions/{subscriptionId}/items/{subscriptionItemId}/quantity [http.request.method=PUT http.response.status_code=503 error.type=503]",
			"    HTTP PUT [http.request.method=PUT http.response.status_code=503 error.type=503]",
			"  PUT /v1/subscriptions/{subscriptionId}/items/{subscriptionItemId}/quantity [http.request.method=PUT http.request.resend_count=1 http.response.status_code=200]",
			"    HTTP PUT [http.request.method=PUT http.response.status_code=200]",
		},
		metrics: map[string]int64{"billing.client.call.duration": 1, "billing.client.call.attempts sum": 2, "http.client.request.duration": 2},
	}, {
		name:  "401 replayed with a new token",
		fault: "addCustomer", f: billingtest.Fault{Status: 401},
		call: func(ctx context.Context, c *billing.Client) error {
			_, err := c.AddCustomer(ctx, gen.CustomerInput{ID: "user-9", Email: "merchant@example.com", Locale: gen.Fr, Type: gen.User})
			return err
		},
		want: []string{
			"addCustomer [http.response.status_code=403 error.type=403 billing.outcome_unknown=false] {billing.token_refused}",
			"  HTTP POST [http.request.method=POST http.response.status_code=200]",
			"  POST /v1/customers [http.request.method=POST http.response.status_code=401 error.type=401]",
			"    HTTP POST [http.request.method=POST http.response.status_code=401 error.type=401]",
			"  HTTP POST [http.request.method=POST http.response.status_code=200]",
			"  POST /v1/customers [http.request.method=POST http.request.resend_count=1 http.response.status_code=403 error.type=403]",
			"    HTTP POST [http.request.method=POST http.response.status_code=403 error.type=403]",
		},
		metrics: map[string]int64{"billing.client.call.duration": 1, "billing.client.call.attempts sum": 2, "http.client.request.duration": 2},
	}, {
		name:  "unknown outcome",
		fault: "setSubscriptionItemUsage", f: billingtest.Fault{Status: 502, Apply: true},
		call: func(ctx context.Context, c *billing.Client) error {
			_, err := c.SetSubscriptionItemUsage(ctx, billingtest.SubscriptionID, billingtest.APICallsAddonID, gen.UsageInput{UsageQuantity: 5})
			return err
		},
		want: []string{
			"setSubscriptionItemUsage [http.response.status_code=502 error.type=502 billing.outcome_unknown=true] {billing.outcome_unknown}",
			"  HTTP POST [http.request.method=POST http.response.status_code=200]",
			"  POST /v1/subscriptions/{subscriptionId}/items/{subscriptionItemId}/usage [http.request.method=POST http.response.status_code=502 error.type=502]",
			"    HTTP POST [http.request.method=POST http.response.status_code=502 error.type=502]",
		},
		metrics: map[string]int64{"billing.client.call.duration": 1, "billing.client.call.attempts sum": 1, "http.client.request.duration": 1, "billing.client.outcome_unknown": 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel := newTelemetry()
			srv := billingtest.NewServer(billingtest.WithT(t))
			defer srv.Close()
			srv.Fault(tt.fault, tt.f)
			var scan logscan.Scan
			hc := &http.Client{Transport: otelhttp.NewTransport(srv.HTTPClient().Transport,
				otelhttp.WithTracerProvider(tel.tp), otelhttp.WithMeterProvider(tel.mp))}
			c := srv.Client(billing.WithObserver(tel.obs), billing.WithHTTPClient(hc),
				billing.WithLogger(slog.New(scan.Handler(nil, srv.ClientSecret))))
			_ = tt.call(context.Background(), c)
			if diff := cmp.Diff(tt.want, tel.tree(shown...)); diff != "" {
				t.Errorf("spans (-want +got):\n%s", diff)
			}
			got := tel.sums(t)
			for name, want := range tt.metrics {
				if got[name] != want {
					t.Errorf("metric %s = %d, want %d (all: %v)", name, got[name], want, got)
				}
			}
			if l := append(tel.leaks(srv.ClientSecret), scan.Leaks()...); len(l) > 0 {
				t.Errorf("spans or records hold secrets:\n%s", strings.Join(l, "\n"))
			}
		})
	}
}

// TestSpansOfWebhookDeliveries checks the spans of a delivery handled, its
// duplicate and a forged one.
func TestSpansOfWebhookDeliveries(t *testing.T) {
	tel := newTelemetry()
	secret := webhook.NewSecret()
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	v, err := webhook.NewSignatureVerifier([]string{secret})
	if err != nil {
		t.Fatal(err)
	}
	var scan logscan.Scan
	h := webhook.NewHandler(v, webhook.WithObserver(tel.obs), webhook.WithLogger(slog.New(scan.Handler(nil, secret))),
		webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))),
		webhook.On(webhook.CustomerCreated, func(context.Context, *webhook.Event) error { return nil }))
	body, err := os.ReadFile(filepath.Join("..", "webhook", "testdata", "events", "customer.created.json"))
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(sig string) {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/billing", bytes.NewReader(body))
		for k, vs := range signer.Headers("msg_1", time.Now(), body) {
			r.Header[k] = vs
		}
		if sig != "" {
			r.Header.Set("svix-signature", sig)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	deliver("")
	deliver("")
	deliver("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	want := []string{
		"billing.webhook POST [http.response.status_code=204 webhook.outcome=handled webhook.event_type=customer.created] {webhook.verified}",
		"billing.webhook POST [http.response.status_code=200 webhook.outcome=duplicate webhook.event_type=customer.created] {webhook.verified}",
		"billing.webhook POST [http.response.status_code=401 webhook.outcome=refused error.type=refused]",
	}
	if diff := cmp.Diff(want, tel.tree("http.response.status_code", "webhook.outcome", "webhook.event_type", "error.type")); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	if got := tel.sums(t)["billing.webhook.delivery.duration"]; got != 3 {
		t.Errorf("%d deliveries measured, want 3", got)
	}
	if l := append(tel.leaks(secret), scan.Leaks()...); len(l) > 0 {
		t.Errorf("spans or records hold secrets:\n%s", strings.Join(l, "\n"))
	}
}
