package webhook_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// The cost of receiving one documented payment event (about 5 KB).
func BenchmarkDecode(b *testing.B) {
	body := fixture(b, webhook.PaymentFailed)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := webhook.Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	body := fixture(b, webhook.PaymentFailed)
	secrets := []string{webhook.NewSecret(), webhook.NewSecret()} // during a rotation
	s, _ := webhook.NewSigner(secrets[1])
	now := time.Now()
	h := s.Headers("msg_1", now, body)
	h.Set("svix-signature", s.Sign("msg_0", now, body)+" "+h.Get("svix-signature"))
	v, err := webhook.NewSignatureVerifier(secrets, webhook.WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := v.Verify(body, http.Header(h)); err != nil {
			b.Fatal(err)
		}
	}
}
