package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// billing is a test's Billing: it signs deliveries of fixtures.
type billing struct {
	t      *testing.T
	secret string
	signer *webhook.Signer
	now    time.Time
}

func newBilling(t *testing.T) *billing {
	secret := webhook.NewSecret()
	s, err := webhook.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	return &billing{t: t, secret: secret, signer: s, now: time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)}
}

func (b *billing) verifier() *webhook.SignatureVerifier {
	v, err := webhook.NewSignatureVerifier([]string{b.secret}, webhook.WithClock(func() time.Time { return b.now }))
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

// request is a signed POST of body with message id id.
func (b *billing) request(id string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/billing", bytes.NewReader(body))
	for k, v := range b.signer.Headers(id, b.now, body) {
		r.Header[k] = v
	}
	r.Header.Set("Content-Type", "application/json")
	return r
}

func serve(h http.Handler, r *http.Request) int {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Body.Len() != 0 {
		panic("the handler wrote a body: " + w.Body.String())
	}
	return w.Code
}

func TestHandlerStatuses(t *testing.T) {
	b := newBilling(t)
	body := fixture(t, webhook.SubscriptionCreated)
	errFailed := errors.New("database down")
	tests := []struct {
		name     string
		req      func() *http.Request
		opts     []webhook.HandlerOption
		want     int
		wantCall webhook.Type
	}{
		{"valid", func() *http.Request { return b.request("m1", body) }, nil, 204, webhook.SubscriptionCreated},
		{"other known type to OnOther", func() *http.Request { return b.request("m1", fixture(t, webhook.CustomerCreated)) }, nil, 204, webhook.CustomerCreated},
		{"unknown type to OnOther", func() *http.Request { return b.request("m1", []byte(`{"eventType":"invoice.generated","data":{}}`)) },
			nil, 204, "invoice.generated"},
		{"unknown type without OnOther: acknowledged", func() *http.Request { return b.request("m1", []byte(`{"eventType":"invoice.generated"}`)) },
			[]webhook.HandlerOption{webhook.OnOther(nil)}, 204, ""},
		{"handler fails: 500, Billing retries", func() *http.Request { return b.request("m1", body) },
			[]webhook.HandlerOption{webhook.On(webhook.SubscriptionCreated, func(context.Context, *webhook.Event) error { return errFailed })}, 500, ""},
		{"GET", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) }, nil, 405, ""},
		{"bad signature", func() *http.Request {
			r := b.request("m1", body)
			r.Header.Set("svix-signature", "v1,"+strings.Repeat("A", 43)+"=")
			return r
		}, nil, 401, ""},
		{"unsigned", func() *http.Request { return httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)) }, nil, 401, ""},
		{"stale timestamp", func() *http.Request {
			b.now = b.now.Add(-time.Hour)
			defer func() { b.now = b.now.Add(time.Hour) }()
			return b.request("m1", body)
		}, nil, 401, ""},
		{"malformed payload, authentic", func() *http.Request {
			return b.request("m1", []byte(`{"eventType":"subscription.created","data":[1]}`))
		}, nil, 400, ""},
		{"empty objects written [] as PHP does", func() *http.Request {
			return b.request("m1", []byte(`{"eventType":"subscription.created","data":{"customer":{"billing_address":[],"meta_data":[]},"subscription":[]}}`))
		}, nil, 204, webhook.SubscriptionCreated},
		{"malformed JSON, authentic", func() *http.Request { return b.request("m1", []byte(`{"eventType":`)) }, nil, 400, ""},
		{"oversized, with Content-Length", func() *http.Request { return b.request("m1", body) },
			[]webhook.HandlerOption{webhook.WithMaxBodySize(int64(len(body) - 1))}, 413, ""},
		{"oversized, chunked", func() *http.Request {
			r := b.request("m1", body)
			r.ContentLength = -1
			r.Body = io.NopCloser(bytes.NewReader(body))
			return r
		}, []webhook.HandlerOption{webhook.WithMaxBodySize(100)}, 413, ""},
		{"exactly the maximum", func() *http.Request { return b.request("m1", body) },
			[]webhook.HandlerOption{webhook.WithMaxBodySize(int64(len(body)))}, 204, webhook.SubscriptionCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var called webhook.Type
			record := func(_ context.Context, ev *webhook.Event) error { called = ev.Type; return nil }
			opts := append([]webhook.HandlerOption{webhook.On(webhook.SubscriptionCreated, record), webhook.OnOther(record)}, tt.opts...)
			h := webhook.NewHandler(b.verifier(), opts...)
			if got := serve(h, tt.req()); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
			if called != tt.wantCall {
				t.Errorf("called for %q, want %q", called, tt.wantCall)
			}
		})
	}
}

func TestHandlerLogsNoSecret(t *testing.T) {
	b := newBilling(t)
	var logs bytes.Buffer
	h := webhook.NewHandler(b.verifier(),
		webhook.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		webhook.On(webhook.PaymentFailed, func(context.Context, *webhook.Event) error { return errors.New("mail server down") }))
	body := fixture(t, webhook.PaymentFailed)
	good := b.request("msg_ok", body)
	sig := good.Header.Get("svix-signature")
	tampered := b.request("msg_bad", body)
	tampered.Header.Set("svix-signature", sig[:20]+"AAAA"+sig[24:])
	wrong := b.request("msg_wrong", body)
	other, _ := webhook.NewSigner(webhook.NewSecret())
	wrong.Header.Set("svix-signature", other.Sign("msg_wrong", b.now, body))
	for _, r := range []*http.Request{good, tampered, wrong} {
		serve(h, r)
	}
	out := logs.String()
	for _, want := range []string{"status=500", "mail server down", "event_id=msg_ok", "event_type=payment.failed", "status=401", "no valid signature"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{b.secret, strings.TrimPrefix(b.secret, "whsec_"), sig, sig[3:], wrong.Header.Get("svix-signature")[3:]} {
		if strings.Contains(out, secret) {
			t.Errorf("logs hold a secret or signature %q:\n%s", secret, out)
		}
	}
}

// A complete receiver over HTTP with a Tracker: failure and redelivery,
// duplicates, out-of-order deliveries.
func TestHandlerOnceAndInOrder(t *testing.T) {
	b := newBilling(t)
	var (
		mu    sync.Mutex
		fails = 1 // the first call fails
		seen  []string
		state = map[string]webhook.Status{}
	)
	onSub := func(_ context.Context, ev *webhook.Event) error {
		mu.Lock()
		defer mu.Unlock()
		sub := ev.Subscription()
		seen = append(seen, ev.ID)
		if fails > 0 {
			fails--
			return errors.New("try again")
		}
		state[sub.ID] = sub.Status
		return nil
	}
	h := webhook.NewHandler(b.verifier(),
		webhook.On(webhook.SubscriptionUpdated, onSub),
		webhook.On(webhook.SubscriptionStatusUpdated, onSub),
		webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))))
	srv := httptest.NewServer(h)
	defer srv.Close()

	post := func(id string, typ webhook.Type) int {
		body := fixture(t, typ)
		r := b.request(id, body)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header = r.Header
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res.StatusCode
	}
	var got []int
	for _, d := range []struct {
		id  string
		typ webhook.Type
	}{
		{"m1", webhook.SubscriptionUpdated},       // fails: 500
		{"m1", webhook.SubscriptionUpdated},       // Billing's retry: 204
		{"m1", webhook.SubscriptionUpdated},       // a duplicate: 200, not run
		{"m3", webhook.SubscriptionStatusUpdated}, // cancelled (newer): 204
		{"m2", webhook.SubscriptionUpdated},       // another message, older than m3, delivered late: stale, 200
	} {
		got = append(got, post(d.id, d.typ))
	}
	if diff := cmp.Diff([]int{500, 204, 200, 204, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"m1", "m1", "m3"}, seen); diff != "" {
		t.Errorf("handler calls (-want +got):\n%s", diff)
	}
	if st := state["AzZltzSnnXURXasn"]; st != webhook.StatusCancelled {
		t.Errorf("state %q, want cancelled: a late event overwrote a newer one", st)
	}
}

// Two deliveries of one message at once: the second gets 409 (Billing retries
// it), the function runs once.
func TestHandlerConcurrentDuplicate(t *testing.T) {
	b := newBilling(t)
	started, release := make(chan struct{}), make(chan struct{})
	calls := 0
	h := webhook.NewHandler(b.verifier(),
		webhook.On(webhook.PaymentSucceeded, func(context.Context, *webhook.Event) error {
			calls++
			close(started)
			<-release
			return nil
		}),
		webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))))
	body := fixture(t, webhook.PaymentSucceeded)
	first := make(chan int)
	go func() { first <- serve(h, b.request("m1", body)) }()
	<-started
	if got := serve(h, b.request("m1", body)); got != http.StatusConflict {
		t.Errorf("concurrent delivery: %d, want 409", got)
	}
	close(release)
	if got := <-first; got != http.StatusNoContent {
		t.Errorf("first delivery: %d, want 204", got)
	}
	if got := serve(h, b.request("m1", body)); got != http.StatusOK {
		t.Errorf("later delivery: %d, want 200", got)
	}
	if calls != 1 {
		t.Errorf("%d calls, want 1", calls)
	}
}

func TestNewHandlerPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"nil verifier":  func() { webhook.NewHandler(nil) },
		"zero max body": func() { webhook.NewHandler(newBilling(t).verifier(), webhook.WithMaxBodySize(0)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
