package webhook_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// The published test vector of the Standard Webhooks specification, which Svix
// (Billing's webhook system) produces too.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vectorHeader() http.Header {
	return http.Header{
		"Svix-Id":        {vectorID},
		"Svix-Timestamp": {strconv.Itoa(vectorTimestamp)},
		"Svix-Signature": {vectorSignature},
	}
}

func clockAt(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestStandardWebhooksVector(t *testing.T) {
	s, err := webhook.NewSigner(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sign(vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody)); got != vectorSignature {
		t.Errorf("Sign = %s, want %s", got, vectorSignature)
	}
	at := time.Unix(vectorTimestamp, 0)
	v, err := webhook.NewSignatureVerifier([]string{vectorSecret}, webhook.WithClock(clockAt(at.Add(30*time.Second))))
	if err != nil {
		t.Fatal(err)
	}
	// The vector's body is no Billing event: verification passes, decoding then refuses.
	_, err = v.Verify([]byte(vectorBody), vectorHeader())
	if !errors.Is(err, webhook.ErrInvalidPayload) {
		t.Errorf("vector: %v, want the signature accepted and ErrInvalidPayload", err)
	}
	// Without the whsec_ prefix, as Svix's libraries accept it.
	v2, err := webhook.NewSignatureVerifier([]string{strings.TrimPrefix(vectorSecret, "whsec_")}, webhook.WithClock(clockAt(at)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Verify([]byte(vectorBody), vectorHeader()); !errors.Is(err, webhook.ErrInvalidPayload) {
		t.Errorf("secret without prefix: %v", err)
	}
	// One byte changed anywhere: refused.
	if _, err := v.Verify([]byte(`{"test": 2432232315}`), vectorHeader()); !errors.Is(err, webhook.ErrNoValidSignature) {
		t.Errorf("tampered vector: %v, want ErrNoValidSignature", err)
	}
}

func TestSignatureVerifier(t *testing.T) {
	oldSecret, newSecret, otherSecret := webhook.NewSecret(), webhook.NewSecret(), webhook.NewSecret()
	now := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	body := fixture(t, webhook.SubscriptionUpdated)
	const id = "msg_2pXxMXYpcz1FUL7XuUdlRZZ2ZtS"
	signed := func(secret string, at time.Time, b []byte) http.Header {
		s, err := webhook.NewSigner(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s.Headers(id, at, b)
	}
	sig := func(secret string) string { return signed(secret, now, body).Get("svix-signature") }
	with := func(h http.Header, key, val string) http.Header {
		h = h.Clone()
		if val == "" {
			h.Del(key)
		} else {
			h.Set(key, val)
		}
		return h
	}
	standard := func(h http.Header) http.Header { // the webhook-* names
		return http.Header{"Webhook-Id": h["Svix-Id"], "Webhook-Timestamp": h["Svix-Timestamp"], "Webhook-Signature": h["Svix-Signature"]}
	}
	valid := signed(newSecret, now, body)
	tampered := func(sig string) string { // another character at 10, whatever the signature holds there
		c := "A"
		if sig[10] == 'A' {
			c = "B"
		}
		return sig[:10] + c + sig[11:]
	}

	tests := []struct {
		name      string
		secrets   []string
		tolerance time.Duration
		body      []byte
		header    http.Header
		want      error
	}{
		{"valid", nil, 0, body, valid, nil},
		{"webhook-* headers", nil, 0, body, standard(valid), nil},
		{"rotation: signed with the old secret", []string{oldSecret, newSecret}, 0, body, signed(oldSecret, now, body), nil},
		{"rotation: signed with the new secret", []string{oldSecret, newSecret}, 0, body, valid, nil},
		{"several signatures, the last valid", nil, 0, body,
			with(valid, "svix-signature", sig(otherSecret)+" "+sig(oldSecret)+" "+sig(newSecret)), nil},
		{"several signatures, the first valid", nil, 0, body,
			with(valid, "svix-signature", sig(newSecret)+" "+sig(otherSecret)), nil},
		{"other versions and garbage skipped", nil, 0, body,
			with(valid, "svix-signature", "v2,abc v1 v1,!!! v1a,"+sig(newSecret)[3:]+"  "+sig(newSecret)), nil},
		{"4:59 old", nil, 0, body, signed(newSecret, now.Add(-299*time.Second), body), nil},
		{"5:00 old", nil, 0, body, signed(newSecret, now.Add(-5*time.Minute), body), nil},
		{"5:00 ahead", nil, 0, body, signed(newSecret, now.Add(5*time.Minute), body), nil},

		{"tampered body", nil, 0, append([]byte(nil), strings.Replace(string(body), `"month"`, `"year"`, 1)...), valid, webhook.ErrNoValidSignature},
		{"body with a trailing newline", nil, 0, append(append([]byte(nil), body...), '\n'), valid, webhook.ErrNoValidSignature},
		{"tampered id", nil, 0, body, with(valid, "svix-id", id+"x"), webhook.ErrNoValidSignature},
		{"tampered timestamp", nil, 0, body, with(valid, "svix-timestamp", strconv.FormatInt(now.Unix()+1, 10)), webhook.ErrNoValidSignature},
		{"tampered signature", nil, 0, body, with(valid, "svix-signature", tampered(sig(newSecret))), webhook.ErrNoValidSignature},
		{"wrong secret", []string{otherSecret}, 0, body, valid, webhook.ErrNoValidSignature},
		{"rotated out: old secret only", []string{oldSecret}, 0, body, valid, webhook.ErrNoValidSignature},
		{"5:01 old", nil, 0, body, signed(newSecret, now.Add(-301*time.Second), body), webhook.ErrTooOld},
		{"a day old (replay)", nil, 0, body, signed(newSecret, now.Add(-24*time.Hour), body), webhook.ErrTooOld},
		{"5:01 ahead", nil, 0, body, signed(newSecret, now.Add(301*time.Second), body), webhook.ErrTooNew},
		{"10 min old, tolerance 15 min", nil, 15 * time.Minute, body, signed(newSecret, now.Add(-10*time.Minute), body), nil},
		{"2 s old, tolerance 1 s", nil, time.Second, body, signed(newSecret, now.Add(-2*time.Second), body), webhook.ErrTooOld},
		{"stale and wrong secret", []string{otherSecret}, 0, body, signed(newSecret, now.Add(-time.Hour), body), webhook.ErrNoValidSignature},

		{"no headers", nil, 0, body, http.Header{}, webhook.ErrNotSigned},
		{"no id", nil, 0, body, with(valid, "svix-id", ""), webhook.ErrNotSigned},
		{"no timestamp", nil, 0, body, with(valid, "svix-timestamp", ""), webhook.ErrNotSigned},
		{"no signature", nil, 0, body, with(valid, "svix-signature", ""), webhook.ErrNotSigned},
		{"no v1 signature", nil, 0, body, with(valid, "svix-signature", "v2,"+sig(newSecret)[3:]), webhook.ErrNotSigned},
		{"signature without version", nil, 0, body, with(valid, "svix-signature", sig(newSecret)[3:]), webhook.ErrNotSigned},
		{"timestamp in ms", nil, 0, body, with(valid, "svix-timestamp", strconv.FormatInt(now.UnixMilli(), 10)+"x"), webhook.ErrInvalidHeader},
		{"timestamp RFC 3339", nil, 0, body, with(valid, "svix-timestamp", now.Format(time.RFC3339)), webhook.ErrInvalidHeader},
		{"timestamp with a fraction", nil, 0, body, with(valid, "svix-timestamp", "1764072000.5"), webhook.ErrInvalidHeader},

		{"authentic but not a webhook", nil, 0, []byte(`{"hello":"world"}`), signed(newSecret, now, []byte(`{"hello":"world"}`)), webhook.ErrInvalidPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{newSecret}
			}
			opts := []webhook.VerifierOption{webhook.WithClock(clockAt(now))}
			if tt.tolerance != 0 {
				opts = append(opts, webhook.WithTolerance(tt.tolerance))
			}
			v, err := webhook.NewSignatureVerifier(secrets, opts...)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := v.Verify(tt.body, tt.header)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
			if err != nil {
				msg := err.Error()
				for _, secret := range []string{oldSecret, newSecret, otherSecret, sig(newSecret), sig(oldSecret)} {
					if strings.Contains(msg, secret) || strings.Contains(msg, strings.TrimPrefix(secret, "whsec_")) ||
						strings.Contains(msg, strings.TrimPrefix(secret, "v1,")) {
						t.Errorf("error %q holds a secret or signature", msg)
					}
				}
				if strings.Count(msg, "webhook:") != 1 || strings.Contains(msg, "\n") {
					t.Errorf("error %q: want one line, one prefix", msg)
				}
				return
			}
			if ev.ID != id || ev.Type != webhook.SubscriptionUpdated || ev.SubscriptionData == nil {
				t.Errorf("event %s %s", ev.ID, ev.Type)
			}
			if ts, _ := strconv.ParseInt(tt.header.Get("svix-timestamp")+tt.header.Get("webhook-timestamp"), 10, 64); !ev.Timestamp.Equal(time.Unix(ts, 0)) {
				t.Errorf("Timestamp %s, want %d", ev.Timestamp, ts)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	secret := webhook.NewSecret()
	s, err := webhook.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	body := fixture(t, webhook.PaymentSucceeded)
	h := s.Headers("msg_1", time.Now(), body)
	ev, err := webhook.Verify(body, h, secret)
	if err != nil {
		t.Fatal(err)
	}
	if ev.PaymentData.Transaction.Status != webhook.TransactionSuccess {
		t.Errorf("status %q", ev.PaymentData.Transaction.Status)
	}
	if _, err := webhook.Verify(body, h, webhook.NewSecret()); !errors.Is(err, webhook.ErrNoValidSignature) {
		t.Errorf("other secret: %v", err)
	}
	if _, err := webhook.Verify(body, h, "whsec_%%%"); err == nil || strings.Contains(err.Error(), "%%%") {
		t.Errorf("invalid secret: %v", err)
	}
}

func TestNewSignatureVerifierErrors(t *testing.T) {
	const bad = "whsec_not*base64"
	for _, tt := range []struct {
		name    string
		secrets []string
		opts    []webhook.VerifierOption
	}{
		{"no secret", nil, nil},
		{"not base64", []string{webhook.NewSecret(), bad}, nil},
		{"empty key", []string{"whsec_"}, nil},
		{"zero tolerance", []string{webhook.NewSecret()}, []webhook.VerifierOption{webhook.WithTolerance(0)}},
		{"negative tolerance", []string{webhook.NewSecret()}, []webhook.VerifierOption{webhook.WithTolerance(-time.Second)}},
		{"nil clock", []string{webhook.NewSecret()}, []webhook.VerifierOption{webhook.WithClock(nil)}},
	} {
		_, err := webhook.NewSignatureVerifier(tt.secrets, tt.opts...)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
		} else if strings.Contains(err.Error(), "base64") && strings.Contains(err.Error(), bad[6:]) {
			t.Errorf("%s: error %q quotes the secret", tt.name, err)
		}
	}
	if _, err := webhook.NewSigner("whsec_???"); err == nil {
		t.Error("NewSigner accepted an invalid secret")
	}
}

func TestNewSecret(t *testing.T) {
	a, b := webhook.NewSecret(), webhook.NewSecret()
	if a == b || !strings.HasPrefix(a, "whsec_") || len(a) != len("whsec_")+32 {
		t.Errorf("secrets %q %q", a, b)
	}
	if _, err := webhook.NewSigner(a); err != nil {
		t.Error(err)
	}
}

func TestBasicVerifier(t *testing.T) {
	const token, next = "c2VjcmV0LXRva2Vu", "bmV3LXRva2Vu"
	v, err := webhook.NewBasicVerifier(token, next)
	if err != nil {
		t.Fatal(err)
	}
	body := fixture(t, webhook.CustomerUpdated)
	for _, tt := range []struct {
		name, auth string
		body       []byte
		want       error
	}{
		{"valid", "Basic " + token, body, nil},
		{"second token", "Basic " + next, body, nil},
		{"scheme in lower case, spaces", "basic  " + token + " ", body, nil},
		{"no header", "", body, webhook.ErrNotSigned},
		{"bearer", "Bearer " + token, body, webhook.ErrInvalidHeader},
		{"no token", "Basic", body, webhook.ErrInvalidHeader},
		{"wrong token", "Basic " + token + "x", body, webhook.ErrNoValidSignature},
		{"prefix of the token", "Basic " + token[:5], body, webhook.ErrNoValidSignature},
		{"empty token", "Basic ", body, webhook.ErrNoValidSignature},
		{"valid token, malformed body", "Basic " + token, []byte("{"), webhook.ErrInvalidPayload},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.auth != "" {
				h.Set("Authorization", tt.auth)
			}
			ev, err := v.Verify(tt.body, h)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
			if err != nil {
				if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), token[:5]) {
					t.Errorf("error %q holds the token", err)
				}
				return
			}
			if ev.ID != "" || !ev.Timestamp.IsZero() || ev.CustomerData == nil {
				t.Errorf("event %+v", ev)
			}
		})
	}
	if _, err := webhook.NewBasicVerifier(); err == nil {
		t.Error("no token accepted")
	}
	if _, err := webhook.NewBasicVerifier(token, ""); err == nil {
		t.Error("empty token accepted")
	}
}
