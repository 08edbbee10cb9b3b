package billing

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
)

// A caller's transport that retries on its own (as many "resilient" HTTP client
// wrappers do: buffer the body, re-send after a 5xx or a network error). The doc
// promises "never sent twice, by any layer" and WithHTTPClient says "Retries wrap
// it": nothing warns that such a transport double-applies usage.
// retryingTransport is a caller's transport that retries a 5xx once, as the
// WithHTTPClient doc allows: only a request it can rewind with GetBody (never one
// the SDK marks as not to be sent twice).
type retryingTransport struct{ rt http.RoundTripper }

func (t retryingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err != nil || resp.StatusCode < 500 || req.GetBody == nil {
		return resp, err
	}
	body, err := req.GetBody()
	if err != nil {
		return resp, nil
	}
	resp.Body.Close()
	r := req.Clone(req.Context())
	r.Body = body
	return t.rt.RoundTrip(r)
}

// A caller's transport that retries as the WithHTTPClient doc allows re-sends an
// idempotent call, never a usage report: applied once, outcome unknown.
func TestCallerTransportRetryNeverResendsUsage(t *testing.T) {
	for _, tc := range []struct {
		call        int // index in calls
		wantApplied int32
		wantUnknown bool
	}{
		{5, 1, true},  // setSubscriptionItemUsage: not re-sent
		{4, 2, false}, // setSubscriptionItemQuantity: re-sent by the transport
	} {
		t.Run(calls[tc.call].op, func(t *testing.T) {
			var applied atomic.Int32
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				if applied.Add(1) == 1 {
					writeError(w, 502, "BAD_GATEWAY", "upstream answered late") // applied, answer lost
					return
				}
				ok(w, r)
			})
			rt := contracttest.Client(t, api.Client()).Transport
			c, _ := api.client(t, WithHTTPClient(&http.Client{Transport: retryingTransport{rt}}), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
			err := calls[tc.call].do(context.Background(), c)
			if n := applied.Load(); n != tc.wantApplied || errors.Is(err, ErrOutcomeUnknown) != tc.wantUnknown {
				t.Errorf("applied %d times, error %v; want %d, unknown %v", n, err, tc.wantApplied, tc.wantUnknown)
			}
		})
	}
}

// A server (or a gateway in front of it) that applies and then answers 401 or 429.
// The SDK replays after 401 and retries after 429 for every operation. It cannot
// tell: these tests document the assumption (they pass when the SDK does what its
// doc says, and log the double application).
func TestReplayAfterApplied401Or429(t *testing.T) {
	for _, code := range []int{401, 429} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			var applied atomic.Int32
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				if applied.Add(1) == 1 {
					writeError(w, code, "X", "applied, then refused")
					return
				}
				ok(w, r)
			})
			c, _ := api.client(t)
			err := usage(context.Background(), c)
			t.Logf("%d after applying: applied %d times, error %v (by design: the SDK trusts that a %d applied nothing)", code, applied.Load(), err, code)
		})
	}
}

func TestRetryAfterValues(t *testing.T) {
	tests := []struct {
		header   string
		wantWait func(d time.Duration) bool // nil: no retry
		what     string
	}{
		{"99999999999999999999", nil, "huge: ends retries"},
		{"-5", func(d time.Duration) bool { return d <= DefaultBaseDelay }, "negative: backoff"},
		{"garbage", func(d time.Duration) bool { return d <= DefaultBaseDelay }, "garbage: backoff"},
		{"1.5", func(d time.Duration) bool { return d <= DefaultBaseDelay }, "fraction: backoff"},
		{"0", func(d time.Duration) bool { return d <= DefaultBaseDelay }, "zero: backoff"},
		{"61", nil, "over MaxRetryAfter: ends retries"},
		{"Wed, 21 Oct 2015 07:28:00 GMT", func(d time.Duration) bool { return d <= DefaultBaseDelay }, "past date: backoff"},
		{"Fri, 31 Dec 9999 23:59:59 GMT", nil, "far date: ends"},
		{"3", func(d time.Duration) bool { return d == 3*time.Second }, "3 s"},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			var n atomic.Int32
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.Header().Set("Retry-After", tt.header)
					writeError(w, 429, "TOO_MANY", "slow down")
					return
				}
				ok(w, r)
			})
			c, waits := api.client(t)
			err := usage(context.Background(), c)
			t.Logf("Retry-After %q: waits %v, err %v", tt.header, *waits, err)
			if tt.wantWait == nil {
				if err == nil || len(*waits) != 0 {
					t.Errorf("want no retry, got waits %v err %v", *waits, err)
				}
				if err != nil && (strings.Count(err.Error(), "billing:") != 1) {
					t.Errorf("error text %q", err)
				}
				return
			}
			if err != nil || len(*waits) != 1 || !tt.wantWait((*waits)[0]) {
				t.Errorf("waits %v err %v", *waits, err)
			}
		})
	}
}

// A partly filled RetryPolicy (MaxAttempts and BaseDelay, MaxDelay left zero)
// silently disables the backoff: every retry is sent at once.
func TestPartialRetryPolicyKeepsBackoff(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 5, BaseDelay: time.Second}
	for attempt := 1; attempt < 5; attempt++ {
		if d := p.backoff(attempt); d == 0 {
			t.Errorf("RetryPolicy{MaxAttempts: 5, BaseDelay: 1s}: backoff(%d) = 0: MaxDelay 0 caps every wait to nothing", attempt)
			break
		}
	}
}
