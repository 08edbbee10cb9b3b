package webhook_test

// A receiver under attack and under Billing's retries: signatures, bounds,
// versions, concurrent and late deliveries, logs.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// subBody is a subscription event of subscription id at version v.
func subBody(typ webhook.Type, id string, v int64) []byte {
	return fmt.Appendf(nil, `{"eventType":%q,"data":{"shopId":"shop1","customer":{"id":"shop1"},"subscription":{"id":%q,"status":"active","resource_version":%d}}}`, typ, id, v)
}

// ctxStore is a Store that, like database/sql, fails once its context is done.
type ctxStore struct{ *webhook.MemoryStore }

func (s ctxStore) ClaimMessage(ctx context.Context, id string, lease time.Duration) (webhook.Claim, error) {
	if err := ctx.Err(); err != nil {
		return webhook.Claim{}, err
	}
	return s.MemoryStore.ClaimMessage(ctx, id, lease)
}

func (s ctxStore) CompleteMessage(ctx context.Context, c webhook.Claim) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.MemoryStore.CompleteMessage(ctx, c)
}

func (s ctxStore) ReleaseMessage(ctx context.Context, c webhook.Claim) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.MemoryStore.ReleaseMessage(ctx, c)
}

func (s ctxStore) LockEntity(ctx context.Context, kind, id string, lease time.Duration) (webhook.EntityLock, error) {
	if err := ctx.Err(); err != nil {
		return webhook.EntityLock{}, err
	}
	return s.MemoryStore.LockEntity(ctx, kind, id, lease)
}

func (s ctxStore) UnlockEntity(ctx context.Context, l webhook.EntityLock) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.MemoryStore.UnlockEntity(ctx, l)
}

func (s ctxStore) Version(ctx context.Context, kind, id string) (webhook.Version, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return s.MemoryStore.Version(ctx, kind, id)
}

func (s ctxStore) AdvanceVersion(ctx context.Context, kind, id string, v webhook.Version) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return s.MemoryStore.AdvanceVersion(ctx, kind, id, v)
}

// Billing hangs up (its delivery timeout) while
// the partner's function still runs; the function then succeeds, but the
// Tracker records the success with the request's context, now cancelled: a
// database Store fails, the claim is released, and every redelivery runs the
// function again. The function ran and succeeded, so the message must be
// recorded.
func TestHandlerRecordsSuccessAfterBillingHungUp(t *testing.T) {
	b := newBilling(t)
	var calls atomic.Int32
	var cancel context.CancelFunc
	h := webhook.NewHandler(b.verifier(),
		webhook.On(webhook.SubscriptionUpdated, func(ctx context.Context, ev *webhook.Event) error {
			if calls.Add(1) == 1 {
				cancel() // Billing's timeout: the client went away while we worked
			}
			return nil // the work is done (say, committed in the partner's own transaction)
		}),
		webhook.WithTracker(webhook.NewTracker(ctxStore{webhook.NewMemoryStore(0)})))
	body := subBody(webhook.SubscriptionUpdated, "sub1", 10)

	r := b.request("msg_1", body)
	var ctx context.Context
	ctx, cancel = context.WithCancel(r.Context())
	defer cancel()
	serve(h, r.WithContext(ctx))

	got := serve(h, b.request("msg_1", body)) // Billing's retry
	if n := calls.Load(); n != 1 {
		t.Errorf("the function ran %d times for one message (retry answered %d), want 1", n, got)
	}
}

// The same at the Tracker level, on the stale path too.
func TestTrackerRecordsWithoutTheRequestContext(t *testing.T) {
	tr := webhook.NewTracker(ctxStore{webhook.NewMemoryStore(0)})
	ev, err := webhook.Decode(subBody(webhook.SubscriptionUpdated, "sub1", 10))
	if err != nil {
		t.Fatal(err)
	}
	ev.ID = "msg_1"
	ctx, cancel := context.WithCancel(t.Context())
	out, err := tr.Process(ctx, ev, func(context.Context) error { cancel(); return nil })
	if err != nil || out != webhook.Processed {
		t.Errorf("Process after a successful function = %v, %v; want processed, nil", out, err)
	}
	runs := 0
	out, err = tr.Process(t.Context(), ev, func(context.Context) error { runs++; return nil })
	if runs != 0 || out != webhook.Duplicate {
		t.Errorf("redelivery: %v, %v, function ran %d times; want duplicate, not run", out, err, runs)
	}
}

// subscription.created's function fails once (500:
// Billing retries in 5 s); meanwhile subscription.updated of the same
// subscription, a newer version, succeeds. The retried subscription.created
// is then "stale": answered 200 and never given to its function again. A
// partner that provisions on created never provisions.
func TestRetriedCreatedAfterNewerUpdateStillRuns(t *testing.T) {
	b := newBilling(t)
	var mu sync.Mutex
	createdFails := 1
	provisioned := false
	h := webhook.NewHandler(b.verifier(),
		webhook.On(webhook.SubscriptionCreated, func(context.Context, *webhook.Event) error {
			mu.Lock()
			defer mu.Unlock()
			if createdFails > 0 {
				createdFails--
				return errors.New("database busy")
			}
			provisioned = true
			return nil
		}),
		webhook.On(webhook.SubscriptionUpdated, func(context.Context, *webhook.Event) error { return nil }),
		webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))))

	created := subBody(webhook.SubscriptionCreated, "sub1", 100)
	updated := subBody(webhook.SubscriptionUpdated, "sub1", 101) // e.g. a quantity set right after
	statuses := []int{
		serve(h, b.request("msg_created", created)), // 500
		serve(h, b.request("msg_updated", updated)), // 204
		serve(h, b.request("msg_created", created)), // Billing's retry
	}
	if !provisioned {
		t.Errorf("statuses %v: subscription.created was acknowledged but its function never succeeded", statuses)
	}
}

// An event nobody handles advances the entity's version
// all the same: a partner with a function for subscription.created only
// loses it when any other subscription event (which it ignores) overtakes it.
func TestUnhandledEventDoesNotAdvanceVersion(t *testing.T) {
	b := newBilling(t)
	ran := false
	h := webhook.NewHandler(b.verifier(),
		webhook.On(webhook.SubscriptionCreated, func(context.Context, *webhook.Event) error { ran = true; return nil }),
		webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))))
	s1 := serve(h, b.request("msg_2", subBody(webhook.SubscriptionStatusUpdated, "sub1", 101))) // no function: 204
	s2 := serve(h, b.request("msg_1", subBody(webhook.SubscriptionCreated, "sub1", 100)))
	if !ran {
		t.Errorf("statuses %d, %d: subscription.created skipped as stale because an unhandled event advanced the version", s1, s2)
	}
}

// A negative resource_version with
// nothing recorded is "older" than the 0 meaning none, and skipped.
func TestNegativeFirstVersionRuns(t *testing.T) {
	tr := webhook.NewTracker(webhook.NewMemoryStore(0))
	ev, err := webhook.Decode(subBody(webhook.SubscriptionCreated, "sub1", -1))
	if err != nil {
		t.Fatal(err)
	}
	out, err := tr.Process(t.Context(), ev, func(context.Context) error { return nil })
	if out != webhook.Processed {
		t.Errorf("first event of an entity: %v, %v; want processed", out, err)
	}
}

// One field of an unexpected JSON type in
// an authentic event makes the whole event a 400, which Billing retries with
// the same body for a day and then drops. Version accepts a string holding a
// number; Timestamp does not; an empty meta_data as [] (what PHP's
// json_encode writes for an empty map) fails too.
// Timestamps decode from numeric strings as versions do, and meta_data from []
// (PHP's empty map). Other numbers are decoded as the facts give them (numbers).
func TestUnexpectedFieldTypeDoesNotRefuseEvent(t *testing.T) {
	for name, sub := range map[string]string{
		"created_at as a string": `{"id":"sub1","created_at":"1764071100"}`,
		"meta_data as []":        `{"id":"sub1","meta_data":[]}`,
	} {
		body := `{"eventType":"subscription.updated","data":{"subscription":` + sub + `}}`
		if _, err := webhook.Decode([]byte(body)); err != nil {
			t.Errorf("%s: %v (the handler answers 400 forever: the event is lost)", name, err)
		}
	}
}

// Signature header shapes. None lets an unsigned or wrongly signed
// delivery through; a valid one passes whatever the spacing.
func TestSignatureHeaderShapes(t *testing.T) {
	b := newBilling(t)
	v := b.verifier()
	body := subBody(webhook.SubscriptionUpdated, "sub1", 1)
	good := b.signer.Sign("msg_1", b.now, body)
	ts := fmt.Sprint(b.now.Unix())
	other, _ := webhook.NewSigner(webhook.NewSecret())
	bad := other.Sign("msg_1", b.now, body)
	tests := []struct {
		name string
		h    http.Header
		ok   bool
	}{
		{"valid", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {good}}, true},
		{"valid, webhook-*", http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {good}}, true},
		{"valid among others", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {"v2,abc " + bad + "   " + good + " v1,"}}, true},
		{"tabs between entries", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {bad + "\t" + good}}, true},
		{"empty list", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {" "}}, false},
		{"v1, empty", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {"v1,"}}, false},
		{"v1 without comma", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {"v1"}}, false},
		{"v1a prefix", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {"v1a" + good[2:]}}, false},
		{"V1 upper", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {"V1" + good[2:]}}, false},
		{"v1a, with a comma in", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {"v1,," + good[3:]}}, false},
		{"other versions only", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {"v2" + good[2:] + " v1a" + good[2:]}}, false},
		{"comma-separated list", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {bad + "," + good}}, false},
		{"duplicate header, good second", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {bad, good}}, false},
		{"id svix, signature webhook", http.Header{"Svix-Id": {"msg_1"}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {good}}, false},
		{"id webhook, signature svix", http.Header{"Webhook-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {good}}, false},
		{"signature of another id", http.Header{"Svix-Id": {"msg_2"}, "Svix-Timestamp": {ts}, "Svix-Signature": {good}}, false},
		{"timestamp moved by one", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {fmt.Sprint(b.now.Unix() + 1)}, "Svix-Signature": {good}}, false},
		{"timestamp with space", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {" " + ts}, "Svix-Signature": {good}}, false},
		{"timestamp float", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts + ".0"}, "Svix-Signature": {good}}, false},
		{"timestamp huge", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {"99999999999999999999"}, "Svix-Signature": {good}}, false},
		{"non-canonical base64 of a wrong MAC", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {"v1," + strings.Repeat("A", 44)}}, false},
		{"very long entry", http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {ts}, "Svix-Signature": {"v1," + strings.Repeat("A", 1<<16)}}, false},
	}
	for _, tt := range tests {
		_, err := v.Verify(body, tt.h)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && (strings.Contains(err.Error(), good[3:]) || strings.Contains(err.Error(), bad[3:])) {
			t.Errorf("%s: the error quotes a signature: %v", tt.name, err)
		}
	}
}

// The timestamp is parsed with strconv.ParseInt and the MAC is
// computed over its canonical text, as Svix's own Go library does: "+", "0"
// prefixes verify with the signature of the canonical value. Not a bypass (the
// value is the same), but the signed text is not the header's text as the
// Standard Webhooks specification words it.
func TestTimestampVerifiedInCanonicalForm(t *testing.T) {
	b := newBilling(t)
	body := subBody(webhook.SubscriptionUpdated, "sub1", 1)
	good := b.signer.Sign("msg_1", b.now, body)
	ts := fmt.Sprint(b.now.Unix())
	for _, text := range []string{"+" + ts, "0" + ts, "000" + ts} {
		h := http.Header{"Svix-Id": {"msg_1"}, "Svix-Timestamp": {text}, "Svix-Signature": {good}}
		if _, err := b.verifier().Verify(body, h); err != nil {
			t.Errorf("%q: %v (behaviour changed: update the report)", text, err)
		}
	}
}

// The tolerance is inclusive both ways, to the second.
func TestToleranceInclusiveToTheSecond(t *testing.T) {
	b := newBilling(t)
	body := subBody(webhook.SubscriptionUpdated, "sub1", 1)
	for _, tt := range []struct {
		offset time.Duration
		want   error
	}{
		{-webhook.DefaultTolerance, nil},
		{-webhook.DefaultTolerance - time.Second, webhook.ErrTooOld},
		{webhook.DefaultTolerance, nil},
		{webhook.DefaultTolerance + time.Second, webhook.ErrTooNew},
		{-200 * 365 * 24 * time.Hour, webhook.ErrTooOld},
	} {
		signedAt := b.now.Add(tt.offset)
		h := b.signer.Headers("msg_1", signedAt, body)
		_, err := b.verifier().Verify(body, h)
		if !errors.Is(err, tt.want) && (err != nil || tt.want != nil) {
			t.Errorf("signed %v from now: %v, want %v", tt.offset, err, tt.want)
		}
	}
	// A clock 500 ms past the boundary second: the timestamp has whole seconds.
	v, _ := webhook.NewSignatureVerifier([]string{b.secret}, webhook.WithClock(func() time.Time {
		return b.now.Add(webhook.DefaultTolerance + 500*time.Millisecond)
	}))
	if _, err := v.Verify(body, b.signer.Headers("msg_1", b.now, body)); !errors.Is(err, webhook.ErrTooOld) {
		t.Errorf("5 min 0.5 s old: %v, want ErrTooOld", err)
	}
}

// Secrets that are not whsec_ and base64 are refused, without quoting.
func TestSecretParsingRefusesWithoutQuoting(t *testing.T) {
	for _, s := range []string{"", "whsec_", "whsec_!!!!", "whsec_ " + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"} {
		_, err := webhook.NewSignatureVerifier([]string{s})
		if err == nil {
			t.Errorf("%q accepted", s)
			continue
		}
		if s != "" && strings.Contains(err.Error(), strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "whsec_"))) && len(s) > 6 {
			t.Errorf("%q: the error quotes the secret: %v", s, err)
		}
	}
	if _, err := webhook.NewSignatureVerifier([]string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}); err != nil {
		t.Errorf("no prefix: %v", err)
	}
	if _, err := webhook.NewSignatureVerifier([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "bad!"}); err == nil {
		t.Error("one bad secret among good ones accepted")
	}
}

// The legacy Basic token.
func TestLegacyBasicToken(t *testing.T) {
	v, err := webhook.NewBasicVerifier("s3cret-token")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := webhook.NewBasicVerifier(""); err == nil {
		t.Error("an empty token accepted at construction")
	}
	body := subBody(webhook.SubscriptionUpdated, "sub1", 1)
	for h, ok := range map[string]bool{
		"Basic s3cret-token":     true,
		"basic s3cret-token":     true,
		"Basic  s3cret-token ":   true,
		"Basic ":                 false,
		"Basic":                  false,
		"Basic s3cret-toke":      false,
		"Basic s3cret-token2":    false,
		"Bearer s3cret-token":    false,
		"Basic\ts3cret-token":    false,
		"s3cret-token":           false,
		"Basic s3cret-token x":   false,
		"Basic czNjcmV0LXRva2Vu": false,
	} {
		_, err := v.Verify(body, http.Header{"Authorization": {h}})
		if (err == nil) != ok {
			t.Errorf("%q: %v, want ok=%v", h, err, ok)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: the error quotes the token: %v", h, err)
		}
	}
}

// Nothing decodes before the signature is checked; a forged body is
// 401 whatever its shape, never 400.
func TestVerifyBeforeDecode(t *testing.T) {
	b := newBilling(t)
	decoded := false
	h := webhook.NewHandler(b.verifier(), webhook.OnOther(func(context.Context, *webhook.Event) error { decoded = true; return nil }))
	for _, body := range []string{`{"eventType":`, `[]`, `{"eventType":"subscription.created","data":[]}`, strings.Repeat("[", 100000)} {
		r := b.request("m1", []byte(`{"eventType":"x"}`))
		r.Body = io.NopCloser(strings.NewReader(body))
		r.ContentLength = int64(len(body))
		if got := serve(h, r); got != http.StatusUnauthorized {
			t.Errorf("forged %.20q: %d, want 401", body, got)
		}
	}
	if decoded {
		t.Error("a forged body reached a function")
	}
}

// Content-Length lies and body bounds.
func TestBodyBounds(t *testing.T) {
	b := newBilling(t)
	body := subBody(webhook.SubscriptionUpdated, "sub1", 1)
	h := webhook.NewHandler(b.verifier(), webhook.WithMaxBodySize(int64(len(body))))
	srv := httptest.NewServer(h)
	defer srv.Close()
	do := func(r *http.Request) int {
		res, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res.StatusCode
	}
	newReq := func(body io.Reader, n int64, signed []byte) *http.Request {
		r, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, body)
		r.ContentLength = n
		r.Header = b.signer.Headers("m1", b.now, signed)
		return r
	}
	if got := do(newReq(bytes.NewReader(body), int64(len(body)), body)); got != 204 {
		t.Errorf("exactly the limit: %d", got)
	}
	big := append(bytes.Clone(body), ' ')
	if got := do(newReq(io.MultiReader(bytes.NewReader(big)), -1, big)); got != 413 { // chunked
		t.Errorf("chunked, one byte over: %d, want 413", got)
	}
	if got := do(newReq(io.MultiReader(bytes.NewReader(body)), -1, body)); got != 204 { // chunked
		t.Errorf("chunked, at the limit: %d, want 204", got)
	}
	if got := do(newReq(bytes.NewReader(big), int64(len(big)), big)); got != 413 {
		t.Errorf("Content-Length over: %d, want 413", got)
	}
}

// A panicking function, over HTTP: the Handler recovers it and answers 500
// (Billing retries); the claim and the entity lock are released, so the retry
// runs.
func TestPanicReleasesClaim(t *testing.T) {
	b := newBilling(t)
	var calls atomic.Int32
	h := webhook.NewHandler(b.verifier(),
		webhook.On(webhook.SubscriptionUpdated, func(context.Context, *webhook.Event) error {
			if calls.Add(1) == 1 {
				panic("boom")
			}
			return nil
		}),
		webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))))
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the panic's stack trace
	srv.Start()
	defer srv.Close()
	body := subBody(webhook.SubscriptionUpdated, "sub1", 1)
	post := func() (int, error) {
		r, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, bytes.NewReader(body))
		r.Header = b.signer.Headers("m1", b.now, body)
		res, err := srv.Client().Do(r)
		if err != nil {
			return 0, err
		}
		_ = res.Body.Close()
		return res.StatusCode, nil
	}
	if st, err := post(); err != nil || st != http.StatusInternalServerError {
		t.Errorf("panicking function: %d, %v; want 500", st, err)
	}
	done := make(chan int)
	go func() { st, _ := post(); done <- st }()
	select {
	case st := <-done:
		if st != 204 {
			t.Errorf("retry after a panic: %d, want 204", st)
		}
	case <-time.After(10 * time.Second): // a guard against a deadlock, not synchronisation
		t.Fatal("retry after a panic hangs: the entity lock was not released")
	}
}

// Many simultaneous deliveries of one message run the function once;
// the others get 409 or 200, never 2xx before it succeeded.
func TestConcurrentDeliveriesRunOnce(t *testing.T) {
	b := newBilling(t)
	var calls atomic.Int32
	h := webhook.NewHandler(b.verifier(),
		webhook.On(webhook.SubscriptionUpdated, func(context.Context, *webhook.Event) error { calls.Add(1); return nil }),
		webhook.WithTracker(webhook.NewTracker(webhook.NewMemoryStore(0))))
	body := subBody(webhook.SubscriptionUpdated, "sub1", 1)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			switch st := serve(h, b.request("m1", body)); st {
			case 204, 200, 409:
			default:
				t.Errorf("status %d", st)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("function ran %d times, want 1", n)
	}
}

// Equal versions run (two events of one change), a missing version
// runs and records nothing, a string version orders like a number.
func TestVersionOrdering(t *testing.T) {
	tr := webhook.NewTracker(webhook.NewMemoryStore(0))
	run := func(id, body string) webhook.Outcome {
		ev, err := webhook.Decode([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		ev.ID = id
		out, err := tr.Process(t.Context(), ev, func(context.Context) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	sub := func(typ, v string) string {
		return `{"eventType":"` + typ + `","data":{"subscription":{"id":"s1"` + v + `}}}`
	}
	for _, step := range []struct {
		id, body string
		want     webhook.Outcome
	}{
		{"a", sub("subscription.updated", `,"resource_version":"200"`), webhook.Processed},
		{"b", sub("subscription.status-updated", `,"resource_version":200`), webhook.Processed},
		{"c", sub("subscription.updated", `,"resource_version":199.9`), webhook.Stale},
		{"d", sub("subscription.updated", ``), webhook.Processed},
		{"e", sub("subscription.updated", `,"resource_version":null`), webhook.Processed},
		{"f", sub("subscription.updated", `,"resource_version":"1e2"`), webhook.Stale},
	} {
		if got := run(step.id, step.body); got != step.want {
			t.Errorf("%s: %v, want %v", step.id, got, step.want)
		}
	}
}

// The logger never receives the secret, the signatures or the
// Authorization token, whatever the failure.
func TestLogsHoldNoSecret(t *testing.T) {
	b := newBilling(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	body := subBody(webhook.SubscriptionUpdated, "sub1", 1)
	good := b.signer.Sign("m1", b.now, body)
	h := webhook.NewHandler(b.verifier(), webhook.WithLogger(logger), webhook.WithMaxBodySize(1<<12),
		webhook.OnOther(func(context.Context, *webhook.Event) error { return nil }))
	reqs := []*http.Request{
		b.request("m1", body),
	}
	r := b.request("m1", body)
	r.Header.Set("svix-timestamp", "x"+good)
	reqs = append(reqs, r)
	r = b.request("m1", append(bytes.Clone(body), ' '))
	r.Header.Set("svix-signature", good)
	reqs = append(reqs, r)
	r = b.request("m1", bytes.Repeat([]byte{' '}, 1<<13))
	reqs = append(reqs, r)
	for _, r := range reqs {
		serve(h, r)
	}
	bv, _ := webhook.NewBasicVerifier("legacy-token")
	hb := webhook.NewHandler(bv, webhook.WithLogger(logger))
	r = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Authorization", "Basic legacy-tokeX")
	serve(hb, r)
	out := logs.String()
	for _, s := range []string{b.secret[6:], good[3:], good[3:20], "legacy-toke"} {
		if strings.Contains(out, s) {
			t.Errorf("logs hold %q:\n%s", s, out)
		}
	}
}

// billingtest: WebhookFault applies "to the
// next message queued after the faults queued before it, one fault per
// message", but the partner of a WebhookSwap does not consume a fault: after
// Swap then Duplicate, the duplicate hits the third message, not the second.
func TestWebhookSwapPartnerUsesUpAFault(t *testing.T) {
	var mu sync.Mutex
	count := map[string]int{}
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		count[r.Header.Get(webhook.HeaderID)]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer endpoint.Close()
	srv := billingtest.NewServer(billingtest.WithT(t), billingtest.WithWebhook(endpoint.URL, webhook.NewSecret()))
	srv.WebhookFault(billingtest.WebhookSwap)      // message 1
	srv.WebhookFault(billingtest.WebhookDuplicate) // message 2, the swap's partner
	for _, id := range []string{"s1", "s2", "s3"} {
		if err := srv.CreateSubscription(gen.Subscription{ID: id, Status: "active"}, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.FlushWebhooks(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if count["msg_000002"] != 2 || count["msg_000003"] != 1 {
		t.Errorf("deliveries per message %v; want msg_000002 twice (the duplicate), msg_000003 once", count)
	}
}
