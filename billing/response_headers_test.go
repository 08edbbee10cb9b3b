package billing

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// headerSeen is an Observer that keeps the headers of each attempt and of the
// call it is told of.
type headerSeen struct {
	traceObserver
	headers []http.Header
}

func (o *headerSeen) EndAttempt(ctx context.Context, c *Call, a *Attempt) {
	o.headers = append(o.headers, a.Header)
}

func (o *headerSeen) EndCall(ctx context.Context, c *Call) { o.headers = append(o.headers, c.Header) }

// The headers the SDK hands out (ResponseInfo.Header, APIError.Header, an
// Observer's Call.Header and Attempt.Header) never hold a cookie Billing sets,
// nor the access token, whatever header echoes it (WWW-Authenticate, a copy of
// the request's Authorization, a request id built from it); the request id
// stays readable.
func TestResponseHeadersHoldNoCookieNorToken(t *testing.T) {
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		_, tok, _ := strings.Cut(auth, " ")
		w.Header().Set("X-Request-Id", "req-"+tok)
		w.Header().Set("Set-Cookie", "session=abcdef; HttpOnly")
		w.Header().Set("X-Echo-Authorization", auth)
		if r.URL.Path == "/v1/invoices/missing/download" {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+tok+` is unknown"`)
			writeError(w, 404, "NOT_FOUND", "no invoice")
			return
		}
		ok(w, r)
	})
	seen := &headerSeen{}
	c, _ := api.client(t, WithObserver(seen))

	var got []http.Header
	var info ResponseInfo
	if _, err := c.GetInvoiceDownload(context.Background(), "inv-1", RecordResponse(&info)); err != nil {
		t.Fatal(err)
	}
	got = append(got, info.Header)
	info = ResponseInfo{}
	_, err := c.GetInvoiceDownload(context.Background(), "missing", RecordResponse(&info))
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v, want an *APIError", err)
	}
	got = append(got, info.Header, apiErr.Header)
	got = append(got, seen.headers...)
	if len(got) != 7 {
		t.Fatalf("%d headers seen, want 7", len(got))
	}
	for i, h := range got {
		if _, ok := h["Set-Cookie"]; ok {
			t.Errorf("headers %d keep Set-Cookie: %v", i, h)
		}
		for k, vs := range h {
			for _, v := range vs {
				if strings.Contains(v, "tok-") { // the test API's tokens
					t.Errorf("headers %d: %s: %s holds the token", i, k, v)
				}
			}
		}
		if id := RequestID(h); id != "req-[redacted]" {
			t.Errorf("headers %d: request id %q, want req-[redacted]", i, id)
		}
	}
}
