package webhook

// Fuzz targets for what the package parses from the network: the webhook body,
// the signature header, and the whole verification. Run one for a while with
//
//	go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 20s ./billing/webhook/
//
// `go test` runs the seeds below and the committed corpus (testdata/fuzz/).

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func FuzzDecode(f *testing.F) {
	for _, typ := range Types() {
		b, err := os.ReadFile(filepath.Join("testdata", "events", string(typ)+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"eventType":"subscription.updated","data":{"subscription":{"id":"s","next_billing_at":1.7640711e9,"resource_version":"17"}}}`,
		`{"eventType":"payment.failed","data":{"transaction":{"resource_version":1e30}}}`,
		`{"eventType":"customer.updated","data":{"customer":null}}`,
		`{"eventType":"x","data":[]}`,
		`{"eventType":"subscription.created","data":{"subscription":{"next_billing_at":-1e300,"subscription_items":[null,{}]}}}`,
		`{"EVENTTYPE":"customer.created","Data":{"Customer":{"ID":"c"}}}`,
		`{"eventType":"customer-billing-address.updated","data":{"billingAddress":{"country":"\ud800"}}}`,
		"\xef\xbb\xbf{}",
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Decode(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidPayload) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q: want a one-line ErrInvalidPayload", err)
			}
			return
		}
		set := 0
		for _, p := range []bool{ev.SubscriptionData != nil, ev.PaymentData != nil, ev.CustomerData != nil, ev.BillingAddressData != nil} {
			if p {
				set++
			}
		}
		if ev.Type == "" || (known(ev.Type) && set != 1) || (!known(ev.Type) && set != 0) {
			t.Fatalf("type %q with %d typed data", ev.Type, set)
		}
		ev.Entity()
		if s := ev.Subscription(); s != nil {
			_ = s.NextBillingAt.Time().Year()
		}
		if !known(ev.Type) {
			return
		}
		// The typed data encodes and decodes to itself.
		var data any
		for _, d := range []any{ev.SubscriptionData, ev.PaymentData, ev.CustomerData, ev.BillingAddressData} {
			if !isNil(d) {
				data = d
			}
		}
		b, err := json.Marshal(map[string]any{"eventType": ev.Type, "data": data})
		if err != nil {
			t.Fatalf("encoding the decoded event: %v", err)
		}
		again, err := Decode(b)
		if err != nil {
			t.Fatalf("decoding the encoded event: %v\n%s", err, b)
		}
		ignore := cmp.Options{
			cmpopts.IgnoreFields(Event{}, "Data"),
			cmpopts.IgnoreFields(Customer{}, "Raw"),
			cmpopts.IgnoreFields(Subscription{}, "Raw"),
			cmpopts.IgnoreFields(Transaction{}, "Raw"),
			cmpopts.EquateEmpty(),
		}
		if diff := cmp.Diff(ev, again, ignore); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func isNil(v any) bool {
	switch d := v.(type) {
	case *SubscriptionData:
		return d == nil
	case *PaymentData:
		return d == nil
	case *CustomerData:
		return d == nil
	case *BillingAddressData:
		return d == nil
	}
	return v == nil
}

func FuzzSignatureHeader(f *testing.F) {
	for _, s := range []string{
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,bm9wZQ== v2,abc",
		"v1a,x v1, ,v1 v1,,, v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE",
		"  v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\tv1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=  ",
		strings.Repeat("v1,AAAA ", 50),
		"",
	} {
		f.Add(s)
	}
	valid := "v1," + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	f.Fuzz(func(t *testing.T, h string) {
		sigs := parseSignatures(h)
		if len(sigs) > len(strings.Fields(h)) {
			t.Fatalf("%d signatures from %d entries", len(sigs), len(strings.Fields(h)))
		}
		for _, s := range sigs {
			if len(s) != 32 {
				t.Fatalf("signature of %d bytes", len(s))
			}
		}
		// A valid entry after anything is still found.
		more := parseSignatures(h + " " + valid)
		if len(more) != len(sigs)+1 || !bytes.Equal(more[len(more)-1], bytes.Repeat([]byte{7}, 32)) {
			t.Fatalf("valid entry after %q not found", h)
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", int64(1614265330), []byte(`{"test": 2432232314}`), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	f.Add("msg_1", int64(0), []byte(`{"eventType":"ping"}`), "v1,AAAA")
	f.Add("", int64(-1), []byte(nil), "")
	f.Add("id with spaces.and.dots", int64(1<<62), []byte("\x00\xff"), "v1,"+strings.Repeat("A", 43)+"=")
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	signer, err := NewSigner(secret)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id string, sec int64, body []byte, sig string) {
		at := time.Unix(sec, 0)
		v, err := NewSignatureVerifier([]string{secret}, WithClock(func() time.Time { return at }))
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, strconv.FormatInt(sec, 10))
		good := signer.Sign(id, at, body)

		// Signed by the secret: the signature passes (the body may be no webhook).
		h.Set(HeaderSignature, good)
		_, err = v.Verify(body, h)
		switch {
		case id == "":
			if !errors.Is(err, ErrNotSigned) {
				t.Fatalf("no id: %v", err)
			}
		case err != nil && !errors.Is(err, ErrInvalidPayload):
			t.Fatalf("signed delivery refused: %v", err)
		}

		// Any other signature header: refused, unless it holds the right signature.
		h.Set(HeaderSignature, sig)
		_, err = v.Verify(body, h)
		if passed := err == nil || errors.Is(err, ErrInvalidPayload); passed && !strings.Contains(sig, good[3:]) {
			t.Fatalf("accepted signature %q", sig)
		}
		if err != nil && (strings.Contains(err.Error(), secret[6:]) || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("error %q", err)
		}
	})
}
